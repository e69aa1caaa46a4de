import Foundation
import RewindLog
@testable import RewindReplay
import RewindTestSupport
import Testing

@Suite("AOF import")
struct AOFImportTests {
    /// The first `#TS:` of the single-file fixture (phase A's second second) and the next one.
    static let firstAnnotation: Int64 = 1_795_707_917_000
    static let secondAnnotation: Int64 = 1_795_707_918_000

    @Test("The single-file Redis 7.0 AOF imports with exact entries, databases and timestamps")
    func singleFileFixture() throws {
        let directory = try TemporaryDirectory()
        let log = directory.appending("single.rwlog")
        let summary = try AOFImporter.importAOF(from: Fixtures.singleAOF, to: log)
        #expect(summary.entryCount == 28)
        #expect(summary.commandCount == 24)
        #expect(summary.transactionCount == 2)
        #expect(summary.sourceByteCount == 1286)
        #expect(summary.truncation == nil)
        let entries = try LogReader(directory: log).readAll().entries
        #expect(entries.count == 28)
        #expect(entries.map(\.sequence) == Array(1...28))
        // Before the file's first annotation the time is unknown: 0.
        #expect(entries[0].arguments == ["SET", "greeting", "hello"].map { Array($0.utf8) })
        #expect(entries[0...13].allSatisfy { $0.timestampMilliseconds == 0 && $0.db == 0 && $0.kind == .command })
        #expect(entries[13].arguments[2] == Array("bin\u{0}ary".utf8) + [0xFF, 0xFE, 13, 10])
        #expect(entries[11].arguments.map { String(decoding: $0, as: UTF8.self) } == ["PEXPIREAT", "greeting", "1895707916667"])
        // MULTI ... EXEC became one transaction: markers around three commands.
        #expect(entries[14].kind == .transactionBegin)
        #expect(entries[15...17].allSatisfy { $0.kind == .command && $0.timestampMilliseconds == Self.firstAnnotation })
        #expect(entries[18].kind == .transactionEnd)
        // SELECT is not an entry; it sets the database of what follows.
        #expect(entries[19].db == 1 && entries[20].db == 1 && entries[21].db == 2 && entries[22].db == 0)
        #expect(entries.allSatisfy { String(decoding: $0.arguments.first ?? [], as: UTF8.self).uppercased() != "SELECT" })
        #expect(entries[23].kind == .transactionBegin && entries[23].db == 1 && entries[23].timestampMilliseconds == Self.secondAnnotation)
        #expect(entries[26].kind == .transactionEnd)
        #expect(entries[27].arguments == ["SET", "last-of-phase-a", "yes"].map { Array($0.utf8) })
        #expect(entries[27].db == 0 && entries[27].timestampMilliseconds == Self.secondAnnotation)
    }

    @Test("A multi-part appenddir imports its base then its incr files and skips history files")
    func appendDirectoryFixture() throws {
        let files = try AOFImporter.sourceFiles(at: Fixtures.appendDirectory)
        #expect(files.map(\.name) == ["appendonly.aof.2.base.aof", "appendonly.aof.2.incr.aof"])
        #expect(files.map(\.kind) == [.base, .incr])
        let directory = try TemporaryDirectory()
        let log = directory.appending("dir.rwlog")
        let summary = try AOFImporter.importAOF(from: Fixtures.appendDirectory, to: log)
        #expect(summary.files == ["appendonly.aof.2.base.aof", "appendonly.aof.2.incr.aof"])
        #expect(summary.entryCount == 36)
        #expect(summary.commandCount == 32)
        #expect(summary.transactionCount == 2)
        let entries = try LogReader(directory: log).readAll().entries
        #expect(entries.count == 36)
        // The base (written by BGREWRITEAOF at #TS:1795707918) holds 18 commands besides its SELECTs.
        let base = entries.prefix(18)
        #expect(base.allSatisfy { $0.timestampMilliseconds == 1_795_707_918_000 && $0.kind == .command })
        #expect(Set(base.map(\.db)) == [0, 1, 2])
        #expect(base.first?.arguments == ["SET", "last-of-phase-a", "yes"].map { Array($0.utf8) })
        #expect(entries[18].timestampMilliseconds == 1_795_707_920_000)
        #expect(entries[18].arguments.map { String(decoding: $0, as: UTF8.self) } == ["SET", "temp", "t", "PXAT", "2095707920179"])
        #expect(Set(entries.map(\.db)) == [0, 1, 2, 3])
        #expect(entries.filter { $0.kind == .transactionBegin }.count == 2)
        // The script's two writes, propagated by Redis as MULTI/EXEC, are one transaction.
        let luaKey = entries.firstIndex { $0.arguments.count > 1 && $0.arguments[1] == Array("lua:k".utf8) }!
        #expect(entries[luaKey - 1].kind == .transactionBegin)
        #expect(entries[luaKey + 2].kind == .transactionEnd)
        #expect(entries.last?.arguments == ["SET", "last", "yes"].map { Array($0.utf8) })
    }

    @Test("The appenddir manifest file itself can be named as the source")
    func manifestAsSource() throws {
        let files = try AOFImporter.sourceFiles(at: Fixtures.appendDirectory + "/appendonly.aof.manifest")
        #expect(files.map(\.name) == ["appendonly.aof.2.base.aof", "appendonly.aof.2.incr.aof"])
    }

    @Test("A truncated final command is refused with its offset, and imported up to it only when allowed")
    func truncatedFinalCommand() throws {
        let directory = try TemporaryDirectory()
        let original = try Array(Data(contentsOf: URL(fileURLWithPath: Fixtures.singleAOF)))
        let lastCommand = Array("*3\r\n$3\r\nSET\r\n$15\r\nlast-of-phase-a".utf8)
        let start = try #require(Self.lastIndex(of: lastCommand, in: original))
        for cut in [start + 1, start + 4, start + 20, original.count - 1] {
            let path = directory.appending("cut-\(cut).aof")
            try Data(original[0..<cut]).write(to: URL(fileURLWithPath: path))
            let error = try #require(throws: ImportError.self) {
                try AOFImporter.importAOF(from: path, to: directory.appending("refused-\(cut).rwlog"))
            }
            #expect(error.code == .truncated)
            #expect(error.byteOffset == start)
            #expect(error.description.hasPrefix("cut-\(cut).aof @\(start): the file ends inside the command starting here"))
            #expect(error.description.contains("--allow-truncated"))
            #expect(!FileManager.default.fileExists(atPath: directory.appending("refused-\(cut).rwlog")))
            let summary = try AOFImporter.importAOF(
                from: path, to: directory.appending("allowed-\(cut).rwlog"), options: .init(allowsTruncatedTail: true))
            #expect(summary.entryCount == 27)
            #expect(summary.truncation?.byteOffset == start)
        }
    }

    @Test("A file cut inside a MULTI block drops the whole open transaction, as Redis does")
    func truncatedInsideTransaction() throws {
        let directory = try TemporaryDirectory()
        let original = try Array(Data(contentsOf: URL(fileURLWithPath: Fixtures.singleAOF)))
        let multi = Array("*1\r\n$5\r\nMULTI\r\n".utf8)
        let lastMulti = try #require(Self.lastIndex(of: multi, in: original))
        let incr = Array("*2\r\n$4\r\nINCR\r\n$5\r\ndb1:n\r\n".utf8)
        let afterIncr = try #require(Self.lastIndex(of: incr, in: original)) + incr.count
        for cut in [afterIncr, afterIncr + 3] {
            let path = directory.appending("multi-\(cut).aof")
            try Data(original[0..<cut]).write(to: URL(fileURLWithPath: path))
            let error = try #require(throws: ImportError.self) {
                try AOFImporter.importAOF(from: path, to: directory.appending("refused-\(cut).rwlog"))
            }
            #expect(error.code == .truncated)
            let summary = try AOFImporter.importAOF(from: path, to: directory.appending("allowed-\(cut).rwlog"), options: .init(allowsTruncatedTail: true))
            #expect(summary.entryCount == 23)
            #expect(summary.truncation?.byteOffset == lastMulti)
        }
    }

    @Test("Parse errors name the file, the byte offset and what was expected", arguments: [
        ("*1\r\n$4\r\nPING\r\nxyz", 14, "expected '*' (a command) or '#' (an annotation), found 'x'"),
        ("*2\r\n$3\r\nGET\r\n:1\r\n", 13, "expected '$' and the length of argument 2 of 2 in decimal digits, found ':'"),
        ("*0\r\n", 0, "expected an argument count of at least 1, found 0"),
        ("*1\r\n$4\r\nPINGxx", 12, "expected CRLF after the 4 bytes of argument 1 of 1, found 'x'"),
        ("*x\r\n", 0, "expected '*' and an argument count in decimal digits, found 'x'"),
        ("#TS:abc\r\n", 0, "expected '#TS:' and unix seconds in decimal digits"),
        ("*1\r\n$9999999999\r\n", 4, "the length of argument 1 of 1 is 9999999999, above the limit of 536870912"),
    ])
    func parseErrors(input: String, offset: Int, message: String) throws {
        let directory = try TemporaryDirectory()
        let path = directory.appending("bad.aof")
        try Data(input.utf8).write(to: URL(fileURLWithPath: path))
        let error = try #require(throws: ImportError.self) { try AOFImporter.importAOF(from: path, to: directory.appending("log")) }
        #expect(error.file == "bad.aof")
        #expect(error.byteOffset == offset)
        #expect(error.message == message)
        #expect(error.description == "bad.aof @\(offset): \(message)")
        #expect(!FileManager.default.fileExists(atPath: directory.appending("log")))
    }

    @Test("A damaged RDB base file is an error naming the file, offset and what was expected; nothing is written")
    func rdbPreamble() throws {
        let directory = try TemporaryDirectory()
        let appendDirectory = directory.appending("appendonlydir")
        try FileManager.default.createDirectory(atPath: appendDirectory, withIntermediateDirectories: true)
        // An AUX field whose value is cut off: the base file ends after the field's name.
        try Data(Array("REDIS0010".utf8) + [0xFA, 0x09] + Array("redis-ver".utf8)).write(to: URL(fileURLWithPath: appendDirectory + "/appendonly.aof.1.base.rdb"))
        try Data("*1\r\n$4\r\nPING\r\n".utf8).write(to: URL(fileURLWithPath: appendDirectory + "/appendonly.aof.1.incr.aof"))
        try Data("file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n".utf8)
            .write(to: URL(fileURLWithPath: appendDirectory + "/appendonly.aof.manifest"))
        let error = try #require(throws: RDBError.self) { try AOFImporter.importAOF(from: appendDirectory, to: directory.appending("log")) }
        #expect(error.code == .truncated)
        #expect(error.description == "appendonly.aof.1.base.rdb @20: expected the length of the value of AUX field \"redis-ver\", found the end of the file")
        #expect(!FileManager.default.fileExists(atPath: directory.appending("log")))
    }

    @Test("Manifest problems name the manifest line", arguments: [
        ("file a.aof seq 1 type x\n", 1, "expected 'type b', 'type i' or 'type h'"),
        ("# comment\nfile a.aof seq one type b\n", 2, "expected 'seq <n>' with n >= 1"),
        ("file a.aof seq 1 type\n", 1, "expected 'file <name> seq <n> type <b|h|i>' pairs, found an odd number of words"),
    ])
    func badManifest(text: String, line: Int, message: String) throws {
        let directory = try TemporaryDirectory()
        let appendDirectory = directory.appending("appendonlydir")
        try FileManager.default.createDirectory(atPath: appendDirectory, withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: appendDirectory + "/appendonly.aof.manifest"))
        let error = try #require(throws: ImportError.self) { try AOFImporter.sourceFiles(at: appendDirectory) }
        #expect(error.code == .badManifest)
        #expect(error.line == line)
        #expect(error.message == message)
    }

    @Test("A directory without a manifest, or a missing source, is refused with its name")
    func missingSources() throws {
        let directory = try TemporaryDirectory()
        let empty = try #require(throws: ImportError.self) { try AOFImporter.sourceFiles(at: directory.path) }
        #expect(empty.message.contains("no *.manifest file"))
        let missing = try #require(throws: ImportError.self) { try AOFImporter.sourceFiles(at: directory.appending("nope.aof")) }
        #expect(missing.description == directory.appending("nope.aof") + ": no such file or directory")
    }

    @Test("Import refuses to write into an existing log")
    func existingDestination() throws {
        let directory = try TemporaryDirectory()
        let log = directory.appending("log")
        _ = try AOFImporter.importAOF(from: Fixtures.singleAOF, to: log)
        let before = try FileManager.default.contentsOfDirectory(atPath: log).sorted()
        #expect(throws: LogError.self) { try AOFImporter.importAOF(from: Fixtures.singleAOF, to: log) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: log).sorted() == before)
        #expect(try LogReader(directory: log).readAll().entries.count == 28)
    }

    static func lastIndex(of needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard needle.count <= haystack.count else { return nil }
        for start in stride(from: haystack.count - needle.count, through: 0, by: -1) where haystack[start..<(start + needle.count)].elementsEqual(needle) {
            return start
        }
        return nil
    }
}

@Suite("AOF import of damaged appenddirs")
struct DamagedAppendDirectoryTests {
    /// A copy of the fixture appenddir with `file` cut by `count` bytes.
    static func copy(cutting file: String, by count: Int, in directory: TemporaryDirectory) throws -> String {
        let target = directory.appending("appendonlydir")
        try FileManager.default.copyItem(atPath: Fixtures.appendDirectory, toPath: target)
        let path = target + "/" + file
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        try bytes.prefix(bytes.count - count).write(to: URL(fileURLWithPath: path))
        return target
    }

    @Test("A truncated base file is an error even with allowsTruncatedTail: only the last file may end short")
    func truncatedBase() throws {
        let directory = try TemporaryDirectory()
        let source = try Self.copy(cutting: "appendonly.aof.2.base.aof", by: 3, in: directory)
        for allow in [false, true] {
            let error = try #require(throws: ImportError.self) {
                try AOFImporter.importAOF(from: source, to: directory.appending("log-\(allow)"), options: .init(allowsTruncatedTail: allow))
            }
            #expect(error.code == .truncated)
            #expect(error.file == "appendonly.aof.2.base.aof")
            #expect(error.message.contains("only the last file of an appenddir may end short"))
        }
    }

    @Test("A truncated last incr file imports up to its last whole command when allowed")
    func truncatedLastIncr() throws {
        let directory = try TemporaryDirectory()
        let source = try Self.copy(cutting: "appendonly.aof.2.incr.aof", by: 1, in: directory)
        let error = try #require(throws: ImportError.self) { try AOFImporter.importAOF(from: source, to: directory.appending("a")) }
        #expect(error.file == "appendonly.aof.2.incr.aof")
        #expect(error.byteOffset == 659 - "*3\r\n$3\r\nSET\r\n$4\r\nlast\r\n$3\r\nyes\r\n".utf8.count)
        let summary = try AOFImporter.importAOF(from: source, to: directory.appending("b"), options: .init(allowsTruncatedTail: true))
        #expect(summary.entryCount == 35)
    }

    @Test("A manifest naming a missing file is refused with the file's name")
    func missingFile() throws {
        let directory = try TemporaryDirectory()
        let target = directory.appending("appendonlydir")
        try FileManager.default.copyItem(atPath: Fixtures.appendDirectory, toPath: target)
        try FileManager.default.removeItem(atPath: target + "/appendonly.aof.2.incr.aof")
        let error = try #require(throws: ImportError.self) { try AOFImporter.sourceFiles(at: target) }
        #expect(error.description == "appendonly.aof.2.incr.aof: named by appendonly.aof.manifest but missing from the appenddir")
    }
}

@Suite("AOF import of hand-built appenddirs")
struct BuiltAppendDirectoryTests {
    @Test("Several incr files load in manifest order, quoted names included, with annotations carried across files")
    func severalIncrFiles() throws {
        let directory = try TemporaryDirectory()
        let target = directory.appending("appendonlydir")
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        let base = try Data(contentsOf: URL(fileURLWithPath: Fixtures.appendDirectory + "/appendonly.aof.2.base.aof"))
        let incr = try Array(Data(contentsOf: URL(fileURLWithPath: Fixtures.appendDirectory + "/appendonly.aof.2.incr.aof")))
        // Split the incr file just before its MULTI: the second part has no #TS line of its own.
        let split = try #require(AOFImportTests.lastIndex(of: Array("*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*1\r\n$5\r\nMULTI".utf8), in: incr))
        try base.write(to: URL(fileURLWithPath: target + "/base file.aof"))
        try Data(incr[0..<split]).write(to: URL(fileURLWithPath: target + "/a.incr.aof"))
        try Data(incr[split...]).write(to: URL(fileURLWithPath: target + "/b.incr.aof"))
        try Data("file \"base file.aof\" seq 2 type b\nfile a.incr.aof seq 2 type i\nfile b.incr.aof seq 3 type i\n".utf8)
            .write(to: URL(fileURLWithPath: target + "/x.manifest"))
        let files = try AOFImporter.sourceFiles(at: target)
        #expect(files.map(\.name) == ["base file.aof", "a.incr.aof", "b.incr.aof"])
        let log = directory.appending("log")
        let summary = try AOFImporter.importAOF(from: target, to: log)
        #expect(summary.entryCount == 36)
        let split1 = try LogReader(directory: log).readAll().entries
        let whole = directory.appending("whole")
        _ = try AOFImporter.importAOF(from: Fixtures.appendDirectory, to: whole)
        let expected = try LogReader(directory: whole).readAll().entries
        #expect(split1 == expected)
    }

    @Test("Incr files out of seq order are refused")
    func incrOrder() throws {
        let directory = try TemporaryDirectory()
        let target = directory.appending("appendonlydir")
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        try Data("file a seq 3 type i\nfile b seq 2 type i\n".utf8).write(to: URL(fileURLWithPath: target + "/appendonly.aof.manifest"))
        let error = try #require(throws: ImportError.self) { try AOFImporter.sourceFiles(at: target) }
        #expect(error.description == "appendonly.aof.manifest line 2: incr file seq 2 is not above the previous incr seq 3")
    }
}
