import Foundation

/// Paths of the committed fixtures, found from this source file's place in the repository.
enum Fixtures {
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { url.deleteLastPathComponent() }
        return url.path
    }()

    static func path(_ relative: String) -> String { root + "/fixtures/" + relative }

    static let singleAOF = path("aof/appendonly.aof")
    static let appendDirectory = path("aof/appendonlydir")
    static let monitorCapture = path("aof/monitor.txt")

    /// The DEBUG DIGEST the fixture script recorded for a fixture (`<name>.digest`).
    static func recordedDigest(_ name: String) throws -> String {
        try String(contentsOfFile: path("aof/\(name).digest"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
