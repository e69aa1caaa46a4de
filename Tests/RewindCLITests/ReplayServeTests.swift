import Foundation
import RewindLog
import RewindTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `rewind replay LOG --serve HOST:PORT`, run as the built executable and queried with redis-cli.
@Suite("rewind replay --serve", .serialized,
       .enabled(if: RewindExecutable.path != nil && FileManager.default.isExecutableFile(atPath: "/usr/bin/redis-cli")))
struct ReplayServeTests {
    /// The executable serving a replay; its serving line read from standard error.
    final class Served {
        let process: Subprocess
        private let files: TemporaryDirectory
        private(set) var errText = ""
        private(set) var port = 0

        init(_ arguments: [String]) throws {
            files = try TemporaryDirectory(prefix: "rewind-served")
            process = try Subprocess(try #require(RewindExecutable.path), arguments,
                                     output: .file(files.appending("out")), error: .file(files.appending("err")))
            // The first "127.0.0.1:PORT" on standard error is the bound port (both commands print it
            // once listening).
            let pattern = #"127\.0\.0\.1:[1-9][0-9]*"#
            for _ in 0..<3000 {
                errText = (try? String(contentsOfFile: files.appending("err"), encoding: .utf8)) ?? ""
                if errText.range(of: pattern, options: .regularExpression) != nil || !process.isRunning { break }
                usleep(20_000)
            }
            guard let range = errText.range(of: pattern, options: .regularExpression),
                  let port = Int(errText[range].split(separator: ":").last!) else {
                process.send(SIGKILL)
                throw TestFailureCLI("no serving line: \(errText)")
            }
            self.port = port
        }

        func cli(_ arguments: String...) throws -> String {
            try Subprocess.run("/usr/bin/redis-cli", ["-p", String(port)] + arguments, mergeError: true, timeout: 60).outputText
        }

        /// Waits for the exit (SIGKILL after 60 s); returns the status, standard output and error.
        func finish() -> (code: Int32, out: String, err: String) {
            let ended = process.waitOrKill(timeout: 60)
            errText = (try? String(contentsOfFile: files.appending("err"), encoding: .utf8)) ?? ""
            let out = (try? String(contentsOfFile: files.appending("out"), encoding: .utf8)) ?? ""
            return (ended.status, out, errText)
        }
    }

    struct TestFailureCLI: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    /// A log with a value overwritten at #3, a TTL, and a FLUSHALL at #5.
    func makeServedLog(_ directory: TemporaryDirectory) throws -> String {
        let log = directory.appending("log")
        let writer = try LogWriter.open(directory: log, options: .init(durability: .no, trainsDictionary: false))
        let t0: Int64 = 1_700_000_000_000
        try writer.append(.command(["SET", "color", "red"], at: t0))
        try writer.append(.command(["RPUSH", "list", "a", "b"], at: t0 + 1000))
        try writer.append(.command(["SET", "color", "blue"], at: t0 + 2000))
        try writer.append(.command(["SET", "temp", "t", "PXAT", String(t0 + 10_000)], at: t0 + 3000))
        try writer.append(.command(["FLUSHALL"], at: t0 + 4000))
        try writer.close()
        return log
    }

    @Test("--until 4: the state at #4 is served read-only with a frozen clock; SIGTERM stops it with exit 0")
    func servesUntil() throws {
        let directory = try TemporaryDirectory(prefix: "rewind-replay-serve")
        let log = try makeServedLog(directory)
        let served = try Served(["replay", log, "--until", "4", "--serve", "127.0.0.1:0"])
        #expect(served.errText.contains("serving #4 (2023-11-14T22:13:23.000Z) read-only on 127.0.0.1:\(served.port)"), "\(served.errText)")
        #expect(try served.cli("GET", "color") == "blue\n")
        #expect(try served.cli("LRANGE", "list", "0", "-1") == "a\nb\n")
        #expect(try served.cli("PTTL", "temp") == "7000\n")
        #expect(try served.cli("SET", "color", "green").hasPrefix("READONLY You can't write against a read only replica.\n"))
        #expect(try served.cli("GET", "color") == "blue\n")
        let digest = try served.cli("DEBUG", "DIGEST")
        served.process.send(SIGTERM)
        let result = served.finish()
        #expect(result.code == 0)
        #expect(result.out.contains("digest \(digest.trimmingCharacters(in: .whitespacesAndNewlines))"), "\(result.out)")
        #expect(result.err.contains("stopped serving"))
    }

    @Test("--exclude-command FLUSHALL then SHUTDOWN from a client: exit 0")
    func servesExcludedAndShutdown() throws {
        let directory = try TemporaryDirectory(prefix: "rewind-replay-serve")
        let log = try makeServedLog(directory)
        let served = try Served(["replay", log, "--exclude-command", "FLUSHALL", "--serve", "127.0.0.1:0"])
        #expect(served.errText.contains("serving #5 "))
        #expect(try served.cli("DBSIZE") == "3\n")
        #expect(try served.cli("GET", "color") == "blue\n")
        _ = try served.cli("SHUTDOWN")
        let result = served.finish()
        #expect(result.code == 0)
        #expect(result.out.contains("Skipped 1 entry, oldest first:"), "\(result.out)")
    }

    @Test("A bad --serve address is a usage error (2); a port in use is exit 1 with the reason")
    func badAddress() throws {
        let directory = try TemporaryDirectory(prefix: "rewind-replay-serve")
        let log = try makeServedLog(directory)
        let usage = rewind(["replay", log, "--serve", "localhost"])
        #expect(usage.code == 2)
        #expect(usage.err.contains("HOST:PORT"))
        #expect(rewind(["replay", log, "--serve", "127.0.0.1:70000"]).code == 2)
        let first = try Served(["replay", log, "--serve", "127.0.0.1:0"])
        let busy = rewind(["replay", log, "--serve", "127.0.0.1:\(first.port)"])
        #expect(busy.code == 1)
        #expect(busy.err.contains("cannot listen on 127.0.0.1:\(first.port)"), "\(busy.err)")
        first.process.send(SIGINT)
        #expect(first.finish().code == 0)
    }
}
