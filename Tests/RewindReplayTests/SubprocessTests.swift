import Foundation
import RewindSpawn
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// RewindSpawn's Subprocess: children that start clean and waits that end.
@Suite("Subprocess")
struct SubprocessTests {
    @Test("A child started from a concurrency thread has no blocked signals and default actions")
    func signalsStartClean() async throws {
        // Swift concurrency and dispatch threads block most signals; posix_spawn would pass that on.
        let result = try await Task.detached {
            try Subprocess.run("/bin/grep", ["-E", "^Sig(Blk|Ign)", "/proc/self/status"])
        }.value
        #expect(result.status == 0)
        // Masks of signals 1-31 (32 and up are glibc's own, which its posix_spawn ignores in the child).
        let masks = result.outputText.split(separator: "\n").compactMap { UInt64($0.split(separator: "\t").last ?? "", radix: 16) }
        #expect(masks.count == 2, "\(result.outputText)")
        #expect(masks.allSatisfy { $0 & 0x7FFF_FFFF == 0 }, "\(result.outputText)")
    }

    @Test("A child inherits no descriptor but 0, 1 and 2, however the parent opened them")
    func noDescriptorLeaks() throws {
        let leaky = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)  // no SOCK_CLOEXEC
        defer { close(leaky) }
        #expect(leaky > 2)
        let result = try Subprocess.run("/bin/sh", ["-c", "ls /proc/$$/fd"])
        #expect(result.status == 0)
        #expect(result.outputText.split(separator: "\n").sorted() == ["0", "1", "2"], "\(result.outputText)")
    }

    @Test("Exit codes, signals, standard error apart or merged, and input bigger than a pipe")
    func results() throws {
        let failed = try Subprocess.run("/bin/sh", ["-c", "echo out; echo err >&2; exit 3"])
        #expect(failed.termination == Termination(exitCode: 3))
        #expect(failed.outputText == "out\n")
        #expect(failed.errorText == "err\n")
        let merged = try Subprocess.run("/bin/sh", ["-c", "echo out; echo err >&2"], mergeError: true)
        #expect(merged.outputText == "out\nerr\n")
        #expect(merged.error.isEmpty)
        let killed = try Subprocess.run("/bin/sh", ["-c", "kill -9 $$"])
        #expect(killed.termination == Termination(signal: SIGKILL))
        let input = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let echoed = try Subprocess.run("/bin/cat", [], input: .bytes(input))
        #expect(echoed.status == 0)
        #expect(echoed.output == input)
    }

    @Test("A child that does not finish is killed at the timeout and the call fails, naming it")
    func timeout() throws {
        let started = Date()
        #expect { try Subprocess.run("/bin/sleep", ["30"], timeout: 0.3) } throws: {
            ($0 as? SubprocessError)?.description.contains("/bin/sleep 30 did not finish") == true
        }
        #expect(Date().timeIntervalSince(started) < 10)
    }

    @Test("Output is collected until the child ends, even when a grandchild keeps the pipe open")
    func grandchildHoldsThePipe() throws {
        let process = try Subprocess("/bin/sh", ["-c", "sleep 30 & echo started"], output: .pipe, newProcessGroup: true)
        defer { process.send(SIGKILL, group: true) }
        let collected = process.collect(timeout: 20, grace: 0.2)
        #expect(!collected.timedOut)
        #expect(collected.outputText == "started\n")
        #expect(process.wait(timeout: 5) == Termination(exitCode: 0))
    }

    @Test("SIGTERM reaches a child started from a dispatch thread")
    func terminateFromDispatchThread() async throws {
        let process = try await Task.detached { try Subprocess("/bin/sleep", ["30"]) }.value
        process.send(SIGTERM)
        #expect(process.wait(timeout: 10) == Termination(signal: SIGTERM))
    }
}
