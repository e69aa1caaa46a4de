import Foundation
import RewindTestSupport
import Testing

@Suite("rewind import/export --format rdb")
struct RDBCLITests {
    static let fixture = CLIFixtures.path("rdb/small-7.0.rdb")
    static var fixtureDigest: String {
        (try? String(contentsOfFile: CLIFixtures.path("rdb/small-7.0.digest"), encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
    }

    static func digestLine(_ result: RunResult) -> String? {
        result.outLines.first { $0.hasPrefix("Digest: ") }.map { String($0.dropFirst("Digest: ".count)) }
    }

    @Test("import --format rdb: one summary line; the replayed digest is redis-server's DEBUG DIGEST")
    func importFixture() throws {
        let directory = try TemporaryDirectory()
        let log = directory.appending("small.rwlog")
        let result = rewind(["import", "--format", "rdb", Self.fixture, log])
        #expect(result.code == 0, "\(result.err)")
        #expect(result.outLines.count == 1)
        // The record count depends on when the writer's flusher ran.
        #expect(result.out.hasPrefix("imported 13 entries (13 commands, 0 transactions) in "))
        #expect(result.out.contains(" for 12 RDB keys from 486 bytes in "))
        let replay = rewind(["replay", log])
        #expect(Self.digestLine(replay) == Self.fixtureDigest)
    }

    @Test("export --format rdb then import again gives the same digest; --until works; --timestamps is refused")
    func exportRoundTrip() throws {
        let directory = try TemporaryDirectory()
        let log = directory.appending("small.rwlog")
        #expect(rewind(["import", "--format", "rdb", Self.fixture, log]).code == 0)
        let file = directory.appending("out.rdb")
        let export = rewind(["export", "--format", "rdb", log, file])
        #expect(export.code == 0, "\(export.err)")
        #expect(export.out.hasPrefix("exported 12 keys in 2 databases (up to #13) as "))
        let again = directory.appending("again.rwlog")
        #expect(rewind(["import", "--format", "rdb", file, again]).code == 0)
        #expect(Self.digestLine(rewind(["replay", again])) == Self.fixtureDigest)
        let partial = rewind(["export", "--format", "rdb", "--until", "1", log, directory.appending("one.rdb")])
        #expect(partial.out.hasPrefix("exported 1 key in 1 database (up to #1)"))
        let refused = rewind(["export", "--format", "rdb", "--timestamps", log, directory.appending("x.rdb")])
        #expect(refused.code == 2)
    }

    @Test("import --format rdb of a damaged file: exit 1, the place on stderr, no log left")
    func damaged() throws {
        let directory = try TemporaryDirectory()
        var bytes = Array(FileManager.default.contents(atPath: Self.fixture)!)
        bytes.removeLast(40)
        let cut = directory.appending("cut.rdb")
        FileManager.default.createFile(atPath: cut, contents: Data(bytes))
        let log = directory.appending("never.rwlog")
        let result = rewind(["import", "--format", "rdb", cut, log])
        #expect(result.code == 1)
        #expect(result.err.hasPrefix("rewind: error: cut.rdb @"))
        #expect(!FileManager.default.fileExists(atPath: log))
        #expect(rewind(["import", "--format", "monitor", "--skip-streams", cut, log]).code == 2)
    }
}
