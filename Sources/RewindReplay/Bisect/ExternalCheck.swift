// `--run 'CMD'`: git bisect run's contract, against the state served on a loopback port.

import Foundation
import RewindEngine
import RewindSpawn

/// An external command judged as `git bisect run` judges it: exit 0 good, 125 skip, 1-127 bad,
/// anything else (128 and above, a signal) aborts the search. It runs under `/bin/sh -c` with
/// `REWIND_HOST`, `REWIND_PORT` and `REWIND_SEQ` in its environment, while the state at the
/// probed entry is served read-only on that port.
public final class ExternalCheck: StateCheck {
    /// A state being served: its port, and how to stop serving it.
    public struct Served {
        public var port: Int
        public var stop: () -> Void
        public init(port: Int, stop: @escaping () -> Void) {
            self.port = port
            self.stop = stop
        }
    }
    /// Serves a keyspace read-only on 127.0.0.1 with its clock at the given time (the CLI passes
    /// `RedisServer.startReadOnly`; RewindReplay knows no sockets of its own).
    public typealias Serve = (Keyspace, Int64) throws -> Served

    public let command: String
    let serve: Serve
    /// The last lines the command printed (standard output and error together), for the report.
    public static let outputLineCountMax = 3

    public init(command: String, serve: @escaping Serve) {
        self.command = command
        self.serve = serve
    }

    public var summary: String { "`\(command)` exits 0" }

    public func judge(_ keyspace: Keyspace, after sequence: UInt64, timestampMilliseconds: Int64) throws -> CheckAnswer {
        let server = try serve(keyspace, timestampMilliseconds)
        defer { server.stop() }
        var environment = ProcessInfo.processInfo.environment
        environment["REWIND_HOST"] = "127.0.0.1"
        environment["REWIND_PORT"] = String(server.port)
        environment["REWIND_SEQ"] = String(sequence)
        let process: Subprocess
        do {
            // Its own process group, so a check that forks is stopped whole if it is interrupted.
            process = try Subprocess("/bin/sh", ["-c", command], environment: environment, output: .pipe, error: .sameAsOutput, newProcessGroup: true)
        } catch {
            throw BisectError(.checkFailed, "--run: cannot start /bin/sh to run '\(command)': \(error)")
        }
        // Like git bisect run, the command's exit decides; a background child it leaves holding
        // the output open does not keep the search waiting.
        let collected = process.collect(timeout: .infinity)
        let ended = process.wait() ?? Termination(exitCode: -1)
        let output = collected.outputText.split(separator: "\n").suffix(Self.outputLineCountMax).joined(separator: " | ")
        let status = ended.status
        let said = output.isEmpty ? "" : ": " + output
        if ended.signal != nil {
            throw BisectError(.checkFailed, "--run '\(command)' was killed by signal \(status) at #\(sequence); the search stops, as git bisect run stops")
        }
        switch status {
        case 0: return CheckAnswer(verdict: .good, lines: ["exit 0" + said])
        case 125: return CheckAnswer(verdict: .skip, lines: ["exit 125 (skip)" + said])
        case 126, 127:
            if sequence == 0 || startFailure(output) {
                throw BisectError(.checkFailed, "--run '\(command)' could not start (exit \(status) from /bin/sh\(said)); fix the command, or make it exit 1 to mean bad")
            }
            return CheckAnswer(verdict: .bad, lines: ["exit \(status)" + said])
        case 1...127: return CheckAnswer(verdict: .bad, lines: ["exit \(status)" + said])
        default:
            throw BisectError(.checkFailed, "--run '\(command)' exited \(status) at #\(sequence): anything but 0-127 aborts the search, as git bisect run aborts")
        }
    }

    /// The shell's own words for a command it could not run.
    private func startFailure(_ output: String) -> Bool {
        output.contains("not found") || output.contains("Permission denied") || output.contains("cannot execute")
    }
}
