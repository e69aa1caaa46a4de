import Foundation

/// Finds and runs `rewind-append-child`, the crash tests' victim.
public enum AppendChild {
    /// The built `rewind-append-child`: next to the running test bundle (SwiftPM puts every
    /// product of a build in one directory), else built into that directory's scratch path.
    public static func executable() throws -> String {
        let fileManager = FileManager.default
        var candidates: [String] = []
        for start in [CommandLine.arguments.first ?? "", Bundle.main.executablePath ?? "", (try? fileManager.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""] where !start.isEmpty {
            var directory = URL(fileURLWithPath: start).deletingLastPathComponent()
            // The bundle may be a directory (macOS .xctest): climb out of it.
            while directory.path.contains(".xctest") { directory.deleteLastPathComponent() }
            candidates.append(directory.appendingPathComponent("rewind-append-child").path)
        }
        if let found = candidates.first(where: { fileManager.isExecutableFile(atPath: $0) }) { return found }
        // Not built with the tests (e.g. `swift build --target`): build it into the same scratch path.
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let binDirectory = URL(fileURLWithPath: candidates.first ?? packageRoot.appendingPathComponent(".build-tests/debug/x").path).deletingLastPathComponent()
        // <scratch>/<triple>/debug: the scratch path is two levels up.
        let scratch = binDirectory.deletingLastPathComponent().deletingLastPathComponent()
        let build = try Subprocess.run("/usr/bin/env", ["swift", "build", "--package-path", packageRoot.path, "--scratch-path", scratch.path, "--product", "rewind-append-child"], timeout: 1200)
        let built = binDirectory.appendingPathComponent("rewind-append-child").path
        guard build.status == 0, fileManager.isExecutableFile(atPath: built) else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: built])
        }
        return built
    }

    /// One acknowledged append as the child printed it.
    public struct Acknowledgement: Hashable, Sendable {
        public var sequence: UInt64
        public var writer: Int
        public var counter: UInt64
        /// The entry the child appended for it.
        public var key: [UInt8] { Array("key:\(writer):\(counter)".utf8) }
        public var value: [UInt8] { Array(String(repeating: "v", count: Int(counter % 200)).utf8) }
    }

    /// The result of one run: what it acknowledged before it died.
    public struct Run {
        public var acknowledgements: [Acknowledgement]
        /// True when the child was killed by the signal (not dead before it).
        public var killed: Bool
        public var terminationStatus: Int32
        /// What the child printed on stderr (why it died, when it died by itself).
        public var errorOutput: String
    }

    /// Starts the child on `log`, waits `delayMilliseconds` (after its first acknowledgement when
    /// `afterFirstAck`), kills it with SIGKILL, and parses what it printed.
    public static func runAndKill(
        executable: String, log: String, policy: String, writers: Int, seed: UInt64,
        delayMilliseconds: Int, afterFirstAck: Bool, outputDirectory: String
    ) throws -> Run {
        let outputPath = outputDirectory + "/child-\(seed).out"
        let errorPath = outputDirectory + "/child-\(seed).err"
        let process = try Subprocess(executable, [log, policy, String(writers), String(seed)], output: .file(outputPath), error: .file(errorPath))
        if afterFirstAck {
            let deadline = Date().addingTimeInterval(10)
            while Date() < deadline, process.isRunning,
                  ((try? FileManager.default.attributesOfItem(atPath: outputPath)[.size] as? Int) ?? 0) == 0 {
                usleep(1000)
            }
        }
        usleep(UInt32(delayMilliseconds) * 1000)
        let wasRunning = process.isRunning
        process.send(SIGKILL)
        let ended = process.waitOrKill(timeout: 30)
        let text = String(decoding: (try? Data(contentsOf: URL(fileURLWithPath: outputPath))) ?? Data(), as: UTF8.self)
        var acknowledgements: [Acknowledgement] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let fields = line.split(separator: " ")
            // Lines are written whole (one write each), so a malformed line is a failure to report.
            guard fields.count == 3, let sequence = UInt64(fields[0]), let writer = Int(fields[1]), let counter = UInt64(fields[2]) else {
                acknowledgements.append(Acknowledgement(sequence: 0, writer: -1, counter: 0))
                continue
            }
            acknowledgements.append(Acknowledgement(sequence: sequence, writer: writer, counter: counter))
        }
        return Run(
            acknowledgements: acknowledgements,
            killed: wasRunning && ended.signal == SIGKILL,
            terminationStatus: ended.status,
            errorOutput: String(decoding: (try? Data(contentsOf: URL(fileURLWithPath: errorPath))) ?? Data(), as: UTF8.self))
    }
}
