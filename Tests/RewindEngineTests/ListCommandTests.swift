// List commands, checked against replies recorded from redis-server 7.0.15.

import RewindEngine
import RewindRESP
import Testing

@Suite("List commands")
struct ListCommandTests {
    @Test("LPOS, LREM, LINSERT and LTRIM edit and search like Redis")
    func editing() {
        var engine = EngineHarness()
        engine.run("RPUSH l a b c a")
        #expect(engine.run("LPOS l a RANK -1") == .integer(3))
        #expect(engine.run("LPOS l a COUNT 0") == .array([.integer(0), .integer(3)]))
        #expect(engine.run("LPOS l a RANK 0").isError)
        #expect(engine.run("LREM l -1 a") == .integer(1))
        #expect(engine.run("LRANGE l 0 -1") == bulks("a", "b", "c"))
        #expect(engine.run("LINSERT l AFTER b x") == .integer(4))
        #expect(engine.run("LINSERT l BEFORE zz q") == .integer(-1))
        #expect(engine.run("LTRIM l 1 -1") == .ok)
        #expect(engine.run("LRANGE l 0 -1") == bulks("b", "x", "c"))
        #expect(engine.run("LRANGE l -9223372036854775808 9223372036854775807") == bulks("b", "x", "c"))
    }

    @Test("Pops with counts: empty array for 0, null array for a missing key")
    func popCounts() {
        var engine = EngineHarness()
        #expect(engine.run("LPOP missing 1") == .nullArray)
        #expect(engine.run("LPOP missing") == .null)
        engine.run("RPUSH l a b c")
        #expect(engine.run("LPOP l 0") == .array([]))
        #expect(engine.run("LPOP l -1") == .error("ERR value is out of range, must be positive"))
        #expect(engine.run("RPOP l 5") == bulks("c", "b", "a"))
        #expect(engine.run("EXISTS l") == .integer(0))
    }

    @Test("LMPOP pops from the first non-empty list and is logged as a counted pop")
    func lmpop() {
        var engine = EngineHarness()
        engine.run("RPUSH l b x c")
        #expect(engine.run("LMPOP 2 nol l RIGHT COUNT 5") == .array([bulk("l"), bulks("c", "x", "b")]))
        #expect(engine.loggedLines() == ["RPOP l 3"])
        #expect(engine.run("LMPOP 0 l LEFT") == .error("ERR numkeys should be greater than 0"))
        #expect(engine.run("LMPOP 1 l LEFT COUNT 0") == .error("ERR count should be greater than 0"))
        #expect(engine.run("LMPOP 1 l LEFT") == .nullArray)
    }

    @Test("Blocking pops never block in the engine and are logged as plain pops")
    func blockingPops() {
        var engine = EngineHarness()
        #expect(engine.run("BLPOP nol 0") == .nullArray)
        engine.run("RPUSH l a b")
        #expect(engine.run("BLPOP nol l 0") == bulks("l", "a"))
        #expect(engine.loggedLines() == ["LPOP l"])
        #expect(engine.run("BLMOVE l d RIGHT LEFT 0") == bulk("b"))
        #expect(engine.loggedLines() == ["LMOVE l d RIGHT LEFT"])
        #expect(engine.run("BLPOP l x") == .error("ERR timeout is not a float or out of range"))
        #expect(engine.run("BLPOP l -1") == .error("ERR timeout is negative"))
        #expect(engine.run("BLPOP l inf") == .error("ERR timeout is negative"))
    }
}

extension RESPValue {
    var isError: Bool { if case .error = self { return true } else { return false } }
}
