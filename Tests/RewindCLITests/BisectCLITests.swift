import Foundation
import RewindCLI
import RewindLog
import RewindTestSupport
import Testing

/// A log of `count` SET commands with `SET flag 1` after `flagAfter` of them.
private func makeFlagLog(at path: String, count: Int = 120, flagAfter: Int = 70) throws {
    let writer = try LogWriter.open(directory: path, options: .init(durability: .no, trainsDictionary: false))
    for index in 0..<count {
        if index == flagAfter { try writer.append(.command(["SET", "flag", "1"], at: 1_700_000_000_000 + Int64(index))) }
        try writer.append(.command(["SET", "key:\(index % 9)", "value \(index)"], at: 1_700_000_000_000 + Int64(index)))
    }
    try writer.sync()
    try writer.close()
}

private let redisCLIAvailable = FileManager.default.isExecutableFile(atPath: "/usr/bin/redis-cli")

@Suite("rewind bisect")
struct BisectCLITests {
    @Test("--probe/--expect: the report, --json, and probes paired with the expectation after each")
    func probes() throws {
        let directory = try TemporaryDirectory(prefix: "rewind-bisect-cli")
        let log = directory.appending("log")
        try makeFlagLog(at: log)
        let result = rewind(["bisect", log, "--probe", "EXISTS flag", "--expect", "(integer) 0", "--session", directory.appending("s")])
        #expect(result.code == 0)
        #expect(result.outLines.first?.hasPrefix("Check flipped at entry #71 (segment 1, byte") == true)
        #expect(result.out.contains("SET \"flag\" \"1\"   <- check is bad from here"))
        let json = rewind(["bisect", "start", log, "--probe", "GET flag", "--expect-nil", "--json", "--session", directory.appending("s")])
        #expect(json.code == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.out.utf8)) as? [String: Any])
        #expect(object["first_bad_seq"] as? Int == 71)
        #expect(object["last_good_seq"] as? Int == 70)
        #expect(object["probes"] as? Int == 2)
        #expect(object["seconds"] != nil)
        // Probes pair with the expectation after each, whatever its kind.
        let pair = rewind(["bisect", log, "--probe", "GET key:1", "--expect-error", "--probe", "GET flag", "--expect-json", "null",
                           "--last-good", "3", "--session", directory.appending("s")])
        #expect(pair.code == 3)  // GET key:1 is no error at #3: bad at the start
        let ordered = rewind(["bisect", log, "--probe", "GET flag", "--expect-json", "null", "--probe", "TYPE key:1", "--expect", "string",
                              "--last-good", "3", "--session", directory.appending("s")])
        #expect(ordered.code == 0)
        #expect(ordered.out.contains("#71"))
    }

    @Test("exit codes: 2 usage, 3 bad at the start, 4 good at the end, 1 bad bounds")
    func exitCodes() throws {
        let directory = try TemporaryDirectory(prefix: "rewind-bisect-cli")
        let log = directory.appending("log")
        try makeFlagLog(at: log)
        let session = ["--session", directory.appending("s")]
        #expect(rewind(["bisect", log] + session).code == 2)
        #expect(rewind(["bisect", log, "--probe", "GET flag"] + session).code == 2)
        #expect(rewind(["bisect", log, "--probe", "SET flag 2", "--expect", "OK"] + session).code == 2)
        let start = rewind(["bisect", log, "--probe", "EXISTS flag", "--expect", "(integer) 1"] + session)
        #expect(start.code == 3)
        #expect(start.err.contains("bad at the start"))
        let end = rewind(["bisect", log, "--probe", "EXISTS nothing", "--expect", "(integer) 0"] + session)
        #expect(end.code == 4)
        #expect(end.err.contains("good at the end of the log (#121)"))
        #expect(rewind(["bisect", log, "--probe", "EXISTS flag", "--expect", "(integer) 0", "--first-bad", "999"] + session).code == 1)
        #expect(rewind(["bisect", directory.appending("missing"), "--probe", "EXISTS flag", "--expect", "(integer) 0"] + session).code == 1)
    }

    @Test("--run: git bisect run's contract against the state served on loopback; the server is gone afterwards",
          .enabled(if: redisCLIAvailable))
    func run() throws {
        let directory = try TemporaryDirectory(prefix: "rewind-bisect-cli")
        let log = directory.appending("log")
        try makeFlagLog(at: log)
        let ports = directory.appending("ports")
        let script = "echo $REWIND_PORT >> \(ports); test \"$(redis-cli -h $REWIND_HOST -p $REWIND_PORT EXISTS flag)\" = 0"
        let result = rewind(["bisect", log, "--run", script, "--session", directory.appending("s"), "--json"])
        #expect(result.code == 0, "\(result.err)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.out.utf8)) as? [String: Any])
        #expect(object["first_bad_seq"] as? Int == 71)
        let runs = try #require(object["probes"] as? Int)
        #expect(runs <= Int(log2(122.0).rounded(.up)) + 3)
        let served = try String(contentsOfFile: ports, encoding: .utf8).split(separator: "\n").compactMap { Int($0) }
        #expect(served.count == runs)
        for port in Set(served) {
            #expect((try? RedisCLIProbe.ping(port: port)) != "PONG", "port \(port) still answers")
        }
        // Writes are refused on the served state.
        let write = rewind(["bisect", log, "--run", "redis-cli -p $REWIND_PORT SET flag 2 | grep -q READONLY && test \"$(redis-cli -p $REWIND_PORT EXISTS flag)\" = 0",
                            "--session", directory.appending("s")])
        #expect(write.code == 0)
        #expect(write.out.contains("#71"))
        // REWIND_SEQ is the point judged; 125 skips it.
        let skipping = rewind(["bisect", log, "--run", "if [ $REWIND_SEQ -ge 60 ] && [ $REWIND_SEQ -le 80 ]; then exit 125; fi; test \"$(redis-cli -p $REWIND_PORT EXISTS flag)\" = 0",
                               "--session", directory.appending("s"), "--json"])
        #expect(skipping.code == 5)
        let open = try #require(try JSONSerialization.jsonObject(with: Data(skipping.out.utf8)) as? [String: Any])
        #expect(open["first_bad_seq"] is NSNull)
        #expect((open["candidates"] as? [String])?.contains("71") == true)
    }

    @Test("--run that cannot start, or exits beyond 127, aborts with exit code 6")
    func runFailures() throws {
        let directory = try TemporaryDirectory(prefix: "rewind-bisect-cli")
        let log = directory.appending("log")
        try makeFlagLog(at: log, count: 20, flagAfter: 10)
        let missing = rewind(["bisect", log, "--run", "/nonexistent/check-script", "--session", directory.appending("s")])
        #expect(missing.code == 6)
        #expect(missing.err.contains("could not start"))
        let beyond = rewind(["bisect", log, "--run", "if [ $REWIND_SEQ -gt 0 ]; then exit 130; fi", "--session", directory.appending("s")])
        #expect(beyond.code == 6)
        #expect(beyond.err.contains("exited 130"))
        let killed = rewind(["bisect", log, "--run", "if [ $REWIND_SEQ -gt 0 ]; then kill -9 $$; fi", "--session", directory.appending("s")])
        #expect(killed.code == 6)
        #expect(killed.err.contains("signal 9"))
        let unreachable = rewind(["bisect", log, "--against", "127.0.0.1:1", "--session", directory.appending("s")])
        #expect(unreachable.code == 6)
        #expect(unreachable.err.contains("cannot reach the reference server 127.0.0.1:1"))
    }

    @Test("bisect log prints the session; bisect replay reuses its verdicts without running the check", .enabled(if: redisCLIAvailable))
    func sessions() throws {
        let directory = try TemporaryDirectory(prefix: "rewind-bisect-cli")
        let log = directory.appending("log")
        try makeFlagLog(at: log)
        let counter = directory.appending("runs")
        let session = directory.appending("session")
        let script = "echo x >> \(counter); test \"$(redis-cli -p $REWIND_PORT EXISTS flag)\" = 0"
        let first = rewind(["bisect", log, "--run", script, "--session", session])
        #expect(first.code == 0)
        let printed = rewind(["bisect", "log", "--session", session])
        #expect(printed.code == 0)
        #expect(printed.outLines.first == "# rewind bisect session; run it again with: rewind bisect replay FILE")
        #expect(printed.out.contains("good #0"))
        #expect(printed.out.contains("# first bad: #71"))
        let runsBefore = try String(contentsOfFile: counter, encoding: .utf8).split(separator: "\n").count
        let again = rewind(["bisect", "replay", session])
        #expect(again.code == 0)
        #expect(again.out.contains("Check flipped at entry #71"))
        let runsAfter = try String(contentsOfFile: counter, encoding: .utf8).split(separator: "\n").count
        #expect(runsAfter == runsBefore)
        #expect(rewind(["bisect", "log", "--session", directory.appending("none")]).code == 1)
        try Data("good #0\nbogus\n".utf8).write(to: URL(fileURLWithPath: directory.appending("bad")))
        #expect(rewind(["bisect", "replay", directory.appending("bad")]).code == 1)
    }

    @Test("--shrink writes a log that still flips the check; --anonymize renames it")
    func shrink() throws {
        let directory = try TemporaryDirectory(prefix: "rewind-bisect-cli")
        let log = directory.appending("log")
        try makeFlagLog(at: log)
        let out = directory.appending("small")
        let result = rewind(["bisect", log, "--probe", "EXISTS flag", "--expect", "(integer) 0", "--shrink", out, "--anonymize",
                             "--session", directory.appending("s")])
        #expect(result.code == 0, "\(result.err)")
        #expect(result.err.contains("shrink: 1 entry left of 71"))
        #expect(result.err.contains("EXISTS \"key:1\""))
        let entries = try LogReader(directory: out).readAll().entries
        #expect(entries.map { $0.arguments.map { String(decoding: $0, as: UTF8.self) } } == [["SET", "key:1", "1"]])
        let again = rewind(["bisect", out, "--probe", "EXISTS key:1", "--expect", "(integer) 0", "--session", directory.appending("s")])
        #expect(again.code == 0)
        #expect(again.out.contains("Check flipped at entry #1 "))
    }
}

enum RedisCLIProbe {
    static func ping(port: Int) throws -> String {
        try Subprocess.run("/usr/bin/redis-cli", ["-p", String(port), "PING"], timeout: 60).outputText.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
