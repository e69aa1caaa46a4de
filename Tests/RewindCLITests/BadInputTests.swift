import Foundation
import RewindLog
import RewindTestSupport
import Testing

@Suite("rewind with bad input")
struct BadInputTests {
    @Test("A missing directory or a plain file as the log is one error line and exit 1", arguments: [
        ["inspect"], ["stats"], ["stats", "--json"], ["verify"], ["repair"], ["export", "--format", "aof"],
    ])
    func notALog(command: [String]) throws {
        let directory = try TemporaryDirectory()
        let file = directory.appending("plain")
        try Data("hello".utf8).write(to: URL(fileURLWithPath: file))
        for log in [directory.appending("missing"), file] {
            var arguments = command + [log]
            if command.first == "export" { arguments.append(directory.appending("out.aof")) }
            let result = rewind(arguments)
            #expect(result.code == 1)
            #expect(result.out.isEmpty)
            #expect(result.err.hasPrefix("rewind: error: \(log): "))
            #expect(result.err.split(separator: "\n").count == 1)
        }
        #expect(!FileManager.default.fileExists(atPath: directory.appending("out.aof")))
    }

    @Test("inspect notes an accepted torn tail on standard error; absolute refuses it")
    func inspectTornTail() throws {
        let directory = try TemporaryDirectory()
        let log = directory.appending("log")
        try makeLog(at: log, count: 4)
        try truncate(log + "/" + LogFormat.segmentFileName(id: 1), by: 2)
        let result = rewind(["inspect", log])
        #expect(result.code == 0)
        #expect(result.outLines.count == 4)
        #expect(result.err.hasPrefix("rewind: damage: seg-000000000001.rwseg @"))
        let refused = rewind(["inspect", "--recovery", "absolute", log])
        #expect(refused.code == 1)
        #expect(refused.err.contains("torn tail"))
    }

    @Test("export of a log with damage in the middle fails and leaves no file")
    func exportDamaged() throws {
        let directory = try TemporaryDirectory()
        let log = directory.appending("log")
        try makeLog(at: log)
        let infos = try recordInfos(log)
        try flipBit(in: log + "/" + LogFormat.segmentFileName(id: 1), at: infos[3].byteOffset + infos[3].recordByteCount - 1)
        let out = directory.appending("out.aof")
        let result = rewind(["export", "--format", "aof", log, out])
        #expect(result.code == 1)
        #expect(result.err.contains("checksum mismatch"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["log"])
        let salvaged = rewind(["export", "--format", "aof", "--recovery", "skip-damaged", log, out])
        #expect(salvaged.code == 0)
        #expect(salvaged.outLines[0].hasPrefix("exported 9 commands"))
    }

    @Test("Mutated AOF files import or fail with an ImportError naming the place, never anything else")
    func mutatedAOFs() throws {
        let directory = try TemporaryDirectory()
        let original = try Array(Data(contentsOf: URL(fileURLWithPath: CLIFixtures.path("aof/appendonly.aof"))))
        var generator = SeededRandom(seed: 7)
        for round in 0..<60 {
            var bytes = original
            switch round % 3 {
            case 0: bytes = Array(bytes.prefix(Int.random(in: 0..<bytes.count, using: &generator)))
            case 1:
                for _ in 0..<Int.random(in: 1...4, using: &generator) {
                    bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
                }
            default: bytes = generator.bytes(count: Int.random(in: 0...300, using: &generator))
            }
            let source = directory.appending("m\(round).aof")
            try Data(bytes).write(to: URL(fileURLWithPath: source))
            let result = rewind(["import", "--format", "aof", source, directory.appending("log\(round)")])
            if result.code != 0 {
                #expect(result.code == 1)
                #expect(result.err.hasPrefix("rewind: error: m\(round).aof @"), "\(result.err)")
                #expect(!FileManager.default.fileExists(atPath: directory.appending("log\(round)")))
            }
        }
    }
}
