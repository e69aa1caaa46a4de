@testable import RewindLog
import RewindTestSupport
import Testing

@Suite("Well-known tokens")
struct WellKnownTokensTests {
    @Test("Every token is found under its own number, in both cases, and nothing else is")
    func lookup() {
        for (index, name) in WellKnownTokens.names.enumerated() {
            #expect(WellKnownTokens.number(of: Array(name.utf8)) == index * 2, "\(name)")
            #expect(WellKnownTokens.number(of: Array(name.lowercased().utf8)) == index * 2 + 1, "\(name)")
            let span = WellKnownTokens.spans[index * 2]
            #expect(Array(UnsafeRawBufferPointer(start: span.base, count: span.byteCount)) == Array(name.utf8))
        }
        for other in ["Set", "SETS", "SE", "", "user:42", "ZADDX", "hsetnx ", "PFADDPFADDPFADDPFADD"] {
            #expect(WellKnownTokens.number(of: Array(other.utf8)) == nil, "\(other)")
        }
    }
}

extension WellKnownTokensTests {
    @Test("Copied arguments share one array per token and copy everything else")
    func sharedTokenArrays() throws {
        let directory = try TemporaryDirectory(prefix: "rewind-tokens")
        let log = directory.appending("log")
        let writer = try LogWriter.open(directory: log, options: .init(durability: .no, trainsDictionary: false))
        try writer.append(.command(["SET", "a", "1"], at: 1))
        try writer.append(.command(["SET", "b", "SET"], at: 2))
        try writer.append(.command(["set", "c", "3"], at: 3))
        try writer.append(.command(["NOTATOKEN", "d"], at: 4))
        try writer.close()
        var copied: [[[UInt8]]] = []
        try LogReader(directory: log).forEachEntry { view in copied.append(view.copiedArguments()) }
        #expect(copied.map { $0.map { String(decoding: $0, as: UTF8.self) } }
            == [["SET", "a", "1"], ["SET", "b", "SET"], ["set", "c", "3"], ["NOTATOKEN", "d"]])
        func storage(_ bytes: [UInt8]) -> UnsafeRawPointer? { bytes.withUnsafeBytes { $0.baseAddress } }
        // Both SETs (stored as a token) are the same array; a SET in a later position is a copy.
        #expect(storage(copied[0][0]) == storage(copied[1][0]))
        #expect(storage(copied[1][2]) != storage(copied[0][0]))
        #expect(storage(copied[2][0]) != storage(copied[0][0]))
        #expect(storage(copied[2][0]) == storage(try #require(WellKnownTokens.sharedArray(WellKnownTokens.spans[1].buffer))))
        // The first argument of a command that is not a token is copied out of the record.
        #expect(WellKnownTokens.sharedArray(UnsafeRawBufferPointer(start: storage(copied[3][0]), count: 9)) == nil)
    }
}
