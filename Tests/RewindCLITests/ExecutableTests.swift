import Foundation
import RewindTestSupport
import Testing

/// `rewind` beside the test bundle in the build directory, when it was built.
enum RewindExecutable {
    static let path: String? = {
        let directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path
        for candidate in [directory + "/rewind", directory + "/../rewind"] where FileManager.default.isExecutableFile(atPath: candidate) {
            return candidate
        }
        return nil
    }()
}

/// The built `rewind` executable, run as a user runs it: exit codes and streams from `main()`.
@Suite("The rewind executable", .enabled(if: RewindExecutable.path != nil))
struct ExecutableTests {
    static func run(_ arguments: [String]) throws -> (code: Int32, out: String, err: String) {
        let path = try #require(RewindExecutable.path)
        let result = try Subprocess.run(path, arguments)
        return (result.status, result.outputText, result.errorText)
    }

    @Test("Exit codes 0, 1 and 2 and the streams they write to")
    func exitCodes() throws {
        let clean = try Self.run(["verify", CLIFixtures.path("example.rwlog")])
        #expect(clean.code == 0)
        #expect(clean.out == "OK: 36 entries in 1 record, 1 segment, last #36; no damage.\n")
        let missing = try Self.run(["inspect", "/nonexistent-rewind-log"])
        #expect(missing.code == 1)
        #expect(missing.out.isEmpty)
        #expect(missing.err == "rewind: error: /nonexistent-rewind-log: no MANIFEST: not a Rewind log directory\n")
        let usage = try Self.run(["verify", "--recovery", "never", "x"])
        #expect(usage.code == 2)
        #expect(usage.err.contains("never"))
        let inspected = try Self.run(["inspect", "--json", CLIFixtures.path("example.rwlog")])
        #expect(inspected.code == 0)
        #expect(inspected.out.split(separator: "\n").count == 36)
    }
}
