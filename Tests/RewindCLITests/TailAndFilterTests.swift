import Foundation
import RewindLog
import RewindReplay
import RewindTestSupport
import Testing

@Suite("rewind tail and the inspect filters")
struct TailAndFilterTests {
    func log(_ directory: TemporaryDirectory) throws -> String {
        let log = directory.appending("filters.rwlog")
        let writer = try LogWriter.open(directory: log, options: .init(durability: .always, trainsDictionary: false))
        try writer.append(.command(["SET", "user:1", "alice"], at: 1_700_000_000_000))
        try writer.append(.command(["HSET", "profile:1", "email", "a@example.com"], at: 1_700_000_000_001))
        try writer.append(contentsOf: [.command(["INCR", "counter"], at: 1_700_000_000_002), .command(["SET", "user:2", "bob"], at: 1_700_000_000_002)],
                          transaction: true)
        try writer.append(.command(["MSET", "a", "1", "user:3", "carol"], at: 1_700_000_000_003))
        try writer.close()
        return log
    }

    @Test("inspect --filter-key shows commands with a matching key, multi-key commands included")
    func filterKey() throws {
        let directory = try TemporaryDirectory()
        let result = rewind(["inspect", "--filter-key", "user:*", try log(directory)])
        #expect(result.code == 0)
        #expect(result.outLines.map { $0.prefix(3) } == ["#1 ", "#5 ", "#7 ", "(3 "])
    }

    @Test("inspect --filter-command and --grep combine")
    func filterCommandAndGrep() throws {
        let directory = try TemporaryDirectory()
        let path = try log(directory)
        let set = rewind(["inspect", "--filter-command", "set,mset", path])
        #expect(set.outLines.count == 4)
        let grep = rewind(["inspect", "--filter-command", "SET", "--grep", "^b", path])
        #expect(grep.outLines.first?.hasSuffix("SET \"user:2\" \"bob\"") == true)
        #expect(grep.outLines.count == 2)
        let email = rewind(["inspect", "--grep", "@example\\.com$", path])
        #expect(email.outLines.first?.hasPrefix("#2 ") == true)
    }

    @Test("Malformed filters are one line and exit code 1", arguments: [["--filter-key", "user:["], ["--grep", "(unclosed"]])
    func badFilters(arguments: [String]) throws {
        let directory = try TemporaryDirectory()
        let result = rewind(["inspect"] + arguments + [try log(directory)])
        #expect(result.code == 1)
        #expect(result.err.split(separator: "\n").count == 1)
    }

    @Test("tail prints the last entries, filtered")
    func tail() throws {
        let directory = try TemporaryDirectory()
        let path = try log(directory)
        let last = rewind(["tail", "-n", "2", path])
        #expect(last.outLines.map { $0.prefix(3) } == ["#6 ", "#7 "])
        let filtered = rewind(["tail", "-n", "2", "--filter-key", "user:*", path])
        #expect(filtered.outLines.map { $0.prefix(3) } == ["#5 ", "#7 "])
        #expect(rewind(["tail", "/nonexistent/log"]).code == 1)
    }

    @Test("LogTailer polls the entries appended since the last poll")
    func tailerPolls() throws {
        let directory = try TemporaryDirectory()
        let path = directory.appending("growing.rwlog")
        let tailer = LogTailer(log: path, filter: try EntryFilter(commandNames: ["SET"]))
        #expect(try tailer.poll { "\($0.sequence)" }.isEmpty)  // no log yet
        let writer = try LogWriter.open(directory: path, options: .init(durability: .always, trainsDictionary: false))
        try writer.append(.command(["SET", "k", "1"], at: 1))
        try writer.append(.command(["DEL", "k"], at: 2))
        #expect(try tailer.poll { "\($0.sequence)" } == ["1"])
        #expect(try tailer.poll { "\($0.sequence)" }.isEmpty)
        try writer.append(.command(["SET", "k", "2"], at: 3))
        try writer.append(.command(["SET", "k", "3"], at: 4))
        #expect(try tailer.poll { "\($0.sequence)" } == ["3", "4"])
        try writer.close()
    }

    @Test("tail --follow prints entries as they are appended", .enabled(if: RewindExecutable.path != nil))
    func follow() throws {
        let directory = try TemporaryDirectory()
        let path = directory.appending("follow.rwlog")
        let writer = try LogWriter.open(directory: path, options: .init(durability: .always, trainsDictionary: false))
        try writer.append(.command(["SET", "before", "1"], at: 1))
        let outputPath = directory.appending("tail.out")
        let process = try Subprocess(try #require(RewindExecutable.path),
                                     ["tail", "--follow", "--interval-ms", "20", "--filter-command", "SET", path],
                                     output: .file(outputPath))
        defer { process.waitOrKill(timeout: 0) }
        var text: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }
        func readUntil(_ needle: String) {
            let deadline = Date().addingTimeInterval(10)
            while !text.contains(needle) && Date() < deadline { usleep(10_000) }
        }
        readUntil("\"before\"")
        try writer.append(.command(["DEL", "before"], at: 2))
        try writer.append(.command(["SET", "after", "2"], at: 3))
        readUntil("\"after\"")
        #expect(text.contains("#1  "), "\(text)")
        #expect(text.contains("#3  ") && text.contains("SET \"after\" \"2\""))
        #expect(!text.contains("DEL"))
        try writer.close()
    }
}
