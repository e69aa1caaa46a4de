// Bit and HyperLogLog commands, checked against redis-server 7.0.15's replies.

import RewindEngine
import RewindRESP
import Testing

@Suite("Bit commands")
struct BitCommandTests {
    @Test("SETBIT, BITCOUNT, BITPOS and BITOP NOT")
    func bits() {
        var engine = EngineHarness()
        #expect(engine.run("SETBIT b 7 1") == .integer(0))
        #expect(engine.run("BITCOUNT b") == .integer(1))
        #expect(engine.run("BITPOS b 1") == .integer(7))
        #expect(engine.run("BITPOS b 0") == .integer(0))
        #expect(engine.run("SETBIT b 4294967296 1") == .error("ERR bit offset is not an integer or out of range"))
        #expect(engine.run("SETBIT b 1 2") == .error("ERR bit is not an integer or out of range"))
        #expect(engine.run("BITCOUNT b -4 -5 bits") == .integer(0))
        #expect(engine.run("BITOP NOT n b") == .integer(1))
        #expect(engine.run("GET n") == .bulkString([0xFE]))
        #expect(engine.run("BITOP NOT n b b") == .error("ERR BITOP NOT must be called with a single source key."))
    }

    @Test("BITFIELD overflow modes")
    func bitfield() {
        var engine = EngineHarness()
        engine.run("SETBIT b 7 1")
        #expect(engine.run("BITFIELD b INCRBY u2 100 1 OVERFLOW SAT INCRBY u2 100 5 GET u8 0")
                == .array([.integer(1), .integer(3), .integer(1)]))
        #expect(engine.run("BITFIELD b OVERFLOW FAIL INCRBY i4 0 100") == .array([.null]))
        #expect(engine.run("BITFIELD b GET u64 0").isError)
        #expect(engine.run("BITFIELD_RO b SET u8 0 1") == .error("ERR BITFIELD_RO only supports the GET subcommand"))
    }

    @Test("A BITFIELD whose every write fails creates the string but leaves a WATCH clean, as redis-server 7.0 does")
    func failedBitfieldKeepsWatchClean() {
        // Found by the differential runner (seed 13, op 8106): Redis creates the zeroed string in
        // lookupStringForBitCommand but signals the key only when a field changed.
        var engine = EngineHarness()
        #expect(engine.run("WATCH k") == .ok)
        #expect(engine.run("BITFIELD k OVERFLOW FAIL SET u8 #1 -6") == .array([.null]))
        #expect(engine.run("GET k") == .bulkString([0, 0]))
        #expect(engine.run("MULTI") == .ok)
        #expect(engine.run("INCR counter") == .simpleString("QUEUED"))
        #expect(engine.run("EXEC") == .array([.integer(1)]))
        // The growth is still logged, so a replay rebuilds the same bytes.
        #expect(engine.loggedLines(last: 2).first?.hasPrefix("BITFIELD k") == true)
        // A field that does change signals the key: the next transaction aborts.
        #expect(engine.run("WATCH k") == .ok)
        #expect(engine.run("BITFIELD k SET u8 0 7") == .array([.integer(0)]))
        #expect(engine.run("MULTI") == .ok)
        #expect(engine.run("INCR counter") == .simpleString("QUEUED"))
        #expect(engine.run("EXEC") == .nullArray)
    }
}

@Suite("HyperLogLog commands")
struct HyperLogLogCommandTests {
    @Test("PFADD, PFCOUNT and PFMERGE count distinct elements")
    func counting() {
        var engine = EngineHarness()
        #expect(engine.run("PFADD h a b c d") == .integer(1))
        #expect(engine.run("PFADD h a") == .integer(0))
        #expect(engine.run("PFCOUNT h") == .integer(4))
        engine.run("PFADD g c d e")
        #expect(engine.run("PFCOUNT h g") == .integer(5))
        #expect(engine.run("PFMERGE m h g") == .ok)
        #expect(engine.run("PFCOUNT m") == .integer(5))
        engine.run("SET s notanhll")
        #expect(engine.run("PFADD s a") == .error("WRONGTYPE Key is not a valid HyperLogLog string value."))
    }
}
