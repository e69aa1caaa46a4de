import ArgumentParser
import Foundation
import RewindCLI
import Testing

/// The `--help` screens, compared in full with fixtures/cli-help/*.txt. Set REWIND_UPDATE_GOLDENS=1
/// to rewrite the goldens, then review the diff.
@Suite("rewind --help screens")
struct HelpGoldenTests {
    static let screens: [(String, ParsableCommand.Type)] = [
        ("rewind", Rewind.self), ("serve", Rewind.Serve.self), ("replay", Rewind.Replay.self), ("blame", Rewind.Blame.self),
        ("verify", Rewind.Verify.self), ("inspect", Rewind.Inspect.self), ("tail", Rewind.Tail.self),
        ("stats", Rewind.Stats.self), ("repair", Rewind.Repair.self), ("compact", Rewind.Compact.self), ("import", Rewind.Import.self),
        ("export", Rewind.Export.self), ("bisect", Rewind.Bisect.self), ("bisect-start", Rewind.Bisect.Start.self),
        ("bisect-log", Rewind.Bisect.SessionLog.self), ("bisect-replay", Rewind.Bisect.SessionReplay.self),
    ]

    @Test("Each help screen matches its golden file", arguments: screens.map(\.0))
    func helpScreen(name: String) throws {
        let type = try #require(Self.screens.first { $0.0 == name }?.1)
        let text = Rewind.helpMessage(for: type, columns: 100)
        let path = CLIFixtures.path("cli-help/\(name).txt")
        if ProcessInfo.processInfo.environment["REWIND_UPDATE_GOLDENS"] == "1" {
            try FileManager.default.createDirectory(atPath: CLIFixtures.path("cli-help"), withIntermediateDirectories: true)
            try text.write(toFile: path, atomically: true, encoding: .utf8)
        }
        let golden = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text == golden)
    }

    @Test("--help exits 0 and prints the screen on standard output")
    func helpFlag() {
        let result = rewind(["verify", "--help"])
        #expect(result.code == 0)
        #expect(result.out.contains("USAGE: rewind verify"))
        #expect(result.err.isEmpty)
    }

    @Test("Every abstract is a sentence that starts with a capital and ends with a full stop")
    func abstracts() {
        for (name, type) in Self.screens {
            let abstract = type.configuration.abstract
            #expect(abstract.hasSuffix("."), "\(name)")
            #expect(abstract.first?.isUppercase == true, "\(name)")
        }
    }
}
