import Foundation
import RewindLog
import RewindRESP

/// Imports a Redis append-only file into a new Rewind log.
///
/// The source is either one AOF file (RESP commands, as Redis 6 wrote `appendonly.aof`, or any one
/// file of a Redis 7 appenddir) or a Redis 7 appenddir, read through its manifest
/// (`appendonly.aof.manifest`): the base file, then the incr files in manifest order; history
/// files (`type h`) are skipped, as Redis skips them.
///
/// What becomes what:
/// - Each command becomes one entry, with the arguments exactly as in the file.
/// - `SELECT n` is not an entry: it sets the database of the entries after it.
/// - `MULTI` … `EXEC` becomes one transaction (one record, framed by markers).
/// - `#TS:<unix seconds>` annotations (written by Redis 7 with `aof-timestamp-enabled yes`) set the
///   timestamp of the entries after them, in milliseconds. Entries before the first annotation get
///   timestamp 0 ("unknown"): deterministic, so the same AOF always imports to the same log, and
///   never a guess such as the file's modification time. Annotations carry across files in order.
/// - A file starting with `REDIS` (an RDB base file such as `appendonly.aof.1.base.rdb`, or an
///   RDB-preamble AOF) is read as an RDB by ``RDBImporter`` (each key rebuilt at the RDB's `ctime`),
///   then any commands after the RDB's checksum as AOF; the entries after it take the RDB's time
///   until a `#TS:` annotation says otherwise.
/// - A last file that ends inside a command, or inside a MULTI block, is refused with the place,
///   unless `allowsTruncatedTail` is set: then what precedes it is imported, as Redis loads it with
///   `aof-load-truncated yes` (an open MULTI block is dropped whole). Earlier files must be whole.
///
/// ```swift
/// let summary = try AOFImporter.importAOF(from: "appendonlydir", to: "app.rwlog")
/// print(summary)  // imported 36 entries (32 commands, 2 transactions) in 1 record from 1577 bytes in 0.01 s
/// ```
public enum AOFImporter {
    public struct Options: Sendable {
        /// Import what precedes a truncated final command instead of failing.
        public var allowsTruncatedTail: Bool
        /// For RDB base files: read past streams instead of failing (see ``RDBImporter/Options``).
        public var skipsStreams: Bool
        /// How the new log is written. Imports use `.no`: the log is synced once at the end.
        public var writerOptions: LogWriter.Options

        public init(allowsTruncatedTail: Bool = false, skipsStreams: Bool = false,
                    writerOptions: LogWriter.Options = LogWriter.Options(durability: .no)) {
            self.allowsTruncatedTail = allowsTruncatedTail
            self.skipsStreams = skipsStreams
            self.writerOptions = writerOptions
        }
    }

    /// One file of an AOF source, in load order.
    public struct SourceFile: Hashable, Sendable {
        public enum Kind: String, Hashable, Sendable { case single, base, incr }
        public var path: String
        /// The name errors use: the manifest's name for appenddir files.
        public var name: String
        public var kind: Kind
    }

    /// The files to read for `source`, in order: a single file, or an appenddir's base and incr files.
    ///
    /// - Throws: ``ImportError`` when the path is missing, or the appenddir manifest is missing,
    ///   malformed or names a file that is not there.
    public static func sourceFiles(at source: String) throws -> [SourceFile] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: source, isDirectory: &isDirectory) else {
            throw ImportError(.fileSystem, file: source, "no such file or directory")
        }
        if !isDirectory.boolValue {
            if source.hasSuffix(".manifest") {
                return try manifestFiles(directory: (source as NSString).deletingLastPathComponent, manifestPath: source)
            }
            return [SourceFile(path: source, name: (source as NSString).lastPathComponent, kind: .single)]
        }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: source)) ?? []
        let manifests = names.filter { $0.hasSuffix(".manifest") }.sorted()
        guard manifests.count == 1 else {
            throw ImportError(.badManifest, file: source, manifests.isEmpty
                ? "no *.manifest file: not a Redis 7 appenddir (pass a single .aof file instead)"
                : "several manifest files (\(manifests.joined(separator: ", "))); pass the one to use")
        }
        return try manifestFiles(directory: source, manifestPath: source + "/" + manifests[0])
    }

    /// Parses a Redis 7 AOF manifest: lines of `key value` pairs (`file`, `seq`, `type`), quoted as
    /// `sdssplitargs` reads them, `#` lines ignored.
    static func manifestFiles(directory: String, manifestPath: String) throws -> [SourceFile] {
        let manifestName = (manifestPath as NSString).lastPathComponent
        guard let data = FileManager.default.contents(atPath: manifestPath) else {
            throw ImportError(.fileSystem, file: manifestName, "cannot read the manifest")
        }
        var base: SourceFile?
        var incrs: [(seq: Int, file: SourceFile)] = []
        let lines = Array(data).split(separator: 10, omittingEmptySubsequences: false)
        for (index, rawLine) in lines.enumerated() {
            var line = Array(rawLine)
            if line.last == 13 { line.removeLast() }
            if line.isEmpty || line.first == UInt8(ascii: "#") { continue }
            func bad(_ message: String) -> ImportError { ImportError(.badManifest, file: manifestName, line: index + 1, message) }
            let words: [[UInt8]]
            do { words = try ByteQuoting.splitArguments(line) } catch { throw bad("unbalanced quotes") }
            guard words.count % 2 == 0 else { throw bad("expected 'file <name> seq <n> type <b|h|i>' pairs, found an odd number of words") }
            var fields: [String: String] = [:]
            for pair in stride(from: 0, to: words.count, by: 2) {
                fields[String(decoding: words[pair], as: UTF8.self)] = String(decoding: words[pair + 1], as: UTF8.self)
            }
            guard let name = fields["file"], !name.isEmpty, !name.contains("/") else { throw bad("expected 'file <name>' with a plain file name") }
            guard let seqText = fields["seq"], let seq = Int(seqText), seq >= 1 else { throw bad("expected 'seq <n>' with n >= 1") }
            let file = SourceFile(path: directory + "/" + name, name: name, kind: .incr)
            switch fields["type"] {
            case "b":
                guard base == nil else { throw bad("a second base file; a manifest has at most one") }
                base = SourceFile(path: file.path, name: name, kind: .base)
            case "i":
                if let last = incrs.last, seq <= last.seq { throw bad("incr file seq \(seq) is not above the previous incr seq \(last.seq)") }
                incrs.append((seq, file))
            case "h":
                continue
            default:
                throw bad("expected 'type b', 'type i' or 'type h'")
            }
        }
        let files = (base.map { [$0] } ?? []) + incrs.map(\.file)
        guard !files.isEmpty else { throw ImportError(.badManifest, file: manifestName, "the manifest names no base or incr file") }
        for file in files where !FileManager.default.fileExists(atPath: file.path) {
            throw ImportError(.fileSystem, file: file.name, "named by \(manifestName) but missing from the appenddir")
        }
        return files
    }

    /// Imports `source` (a file, an appenddir or its manifest) into a new log at `log`.
    ///
    /// - Parameter progress: called now and then with how far the import has got.
    /// - Returns: what was imported.
    /// - Throws: ``ImportError`` naming the file, byte offset and what was expected; `LogError`
    ///   when the log cannot be written or `log` already exists. Nothing is left at `log` then.
    public static func importAOF(
        from source: String, to log: String, options: Options = Options(),
        progress: ((ImportProgress) -> Void)? = nil
    ) throws -> ImportSummary {
        let clock = Stopwatch()
        let files = try sourceFiles(at: source)
        let sizes = files.map { (try? FileManager.default.attributesOfItem(atPath: $0.path)[.size] as? Int) ?? 0 }
        let total = sizes.reduce(0, +)
        let destination = try ImportDestination(path: log, writerOptions: options.writerOptions)
        do {
            destination.setSource(files: files.map(\.name), byteCount: total)
            var state = ImportState()
            var doneBytes = 0
            for (index, file) in files.enumerated() {
                let isLast = index == files.count - 1
                var reader = try AOFReader(path: file.path, displayName: file.name)
                if try reader.startsWithRDBPreamble() {
                    let rdbOptions = RDBImporter.Options(skipsStreams: options.skipsStreams, writerOptions: options.writerOptions)
                    let rdb = try RDBImporter.appendRDB(path: file.path, displayName: file.name, to: destination, options: rdbOptions) { offset in
                        progress?(ImportProgress(sourceBytesRead: doneBytes + offset, sourceByteCount: total, entryCount: destination.summary.entryCount))
                    }
                    // The commands after an RDB preamble start with a SELECT of their own; until
                    // an annotation says otherwise they happened after the RDB was written.
                    state.db = 0
                    if let seconds = rdb.creationSeconds, seconds > 0, seconds < Int64.max / 1000 {
                        state.timestampMilliseconds = max(state.timestampMilliseconds, seconds * 1000)
                    }
                    try reader.seek(to: rdb.endByteOffset)
                }
                try importFile(&reader, isLast: isLast, state: &state, destination: destination, options: options) { offset in
                    progress?(ImportProgress(sourceBytesRead: doneBytes + offset, sourceByteCount: total, entryCount: destination.summary.entryCount))
                }
                doneBytes += sizes[index]
            }
            destination.setSeconds(clock.seconds)
            var summary = try destination.commit()
            summary.seconds = clock.seconds
            return summary
        } catch {
            destination.abandon()
            throw error
        }
    }

    /// The state that carries across the files of an appenddir.
    struct ImportState {
        var db: UInt32 = 0
        var timestampMilliseconds: Int64 = 0
        /// Where the open MULTI started, for error messages.
        var multiOffset: Int?
    }

    private static func importFile(
        _ reader: inout AOFReader, isLast: Bool, state: inout ImportState, destination: ImportDestination,
        options: Options, progress: (Int) -> Void
    ) throws {
        var commandsSinceProgress = 0
        state.multiOffset = nil
        while true {
            let item: AOFReader.Item?
            do {
                item = try reader.next()
            } catch let error as ImportError where error.code == .truncated {
                guard isLast else {
                    throw ImportError(.truncated, file: error.file, byteOffset: error.byteOffset,
                        error.message + "; only the last file of an appenddir may end short, so this appenddir is damaged")
                }
                var cut = error
                if let multiOffset = state.multiOffset { cut.byteOffset = multiOffset }
                guard options.allowsTruncatedTail else {
                    throw ImportError(.truncated, file: error.file, byteOffset: error.byteOffset,
                        error.message + "; pass --allow-truncated to import the \(destination.summary.commandCount) commands before \(state.multiOffset != nil ? "the open MULTI at @\(cut.byteOffset ?? 0)" : "it") (Redis loads them with aof-load-truncated yes)")
                }
                destination.discardTransaction()
                destination.setTruncation(cut)
                return
            }
            guard let item else { break }
            switch item {
            case .annotation(let text, let offset):
                if text.starts(with: Array("TS:".utf8)) {
                    let digits = text.dropFirst(3).filter { $0 != 13 }
                    guard !digits.isEmpty, digits.allSatisfy({ $0 >= 48 && $0 <= 57 }),
                        let seconds = Int64(String(decoding: digits, as: UTF8.self)), seconds <= Int64.max / 1000
                    else {
                        throw ImportError(.malformed, file: reader.displayName, byteOffset: offset, "expected '#TS:' and unix seconds in decimal digits")
                    }
                    state.timestampMilliseconds = seconds * 1000
                }
            case .command(let arguments, let offset, _):
                let name = arguments[0]
                if equalsIgnoringCase(name, "select") {
                    guard arguments.count == 2, let text = String(validating: arguments[1], as: UTF8.self), let db = UInt32(text) else {
                        throw ImportError(.malformed, file: reader.displayName, byteOffset: offset, "expected SELECT with one database index")
                    }
                    state.db = db
                } else if equalsIgnoringCase(name, "multi") {
                    guard state.multiOffset == nil else {
                        throw ImportError(.malformed, file: reader.displayName, byteOffset: offset, "MULTI inside the MULTI block opened at @\(state.multiOffset!)")
                    }
                    state.multiOffset = offset
                    destination.beginTransaction()
                } else if equalsIgnoringCase(name, "exec") {
                    guard state.multiOffset != nil else {
                        throw ImportError(.malformed, file: reader.displayName, byteOffset: offset, "EXEC without MULTI")
                    }
                    state.multiOffset = nil
                    try destination.endTransaction()
                } else {
                    try destination.append(LogEntry(timestampMilliseconds: state.timestampMilliseconds, db: state.db, arguments: arguments))
                }
                commandsSinceProgress += 1
                if commandsSinceProgress >= 10_000 {
                    commandsSinceProgress = 0
                    progress(reader.byteOffset)
                }
            }
        }
        progress(reader.byteOffset)
        if let multiOffset = state.multiOffset {
            // Redis treats a MULTI without EXEC at the end like a short read (aof.c "Revert
            // incomplete MULTI/EXEC transaction").
            let error = ImportError(.truncated, file: reader.displayName, byteOffset: multiOffset,
                "the file ends inside the MULTI block starting here (expected EXEC)")
            guard isLast else {
                throw ImportError(.truncated, file: error.file, byteOffset: multiOffset, error.message + "; only the last file of an appenddir may end short")
            }
            guard options.allowsTruncatedTail else {
                throw ImportError(.truncated, file: error.file, byteOffset: multiOffset,
                    error.message + "; pass --allow-truncated to import the \(destination.summary.commandCount) commands before it")
            }
            destination.discardTransaction()
            destination.setTruncation(error)
        }
    }

    static func equalsIgnoringCase(_ bytes: [UInt8], _ lowercase: StaticString) -> Bool {
        guard bytes.count == lowercase.utf8CodeUnitCount else { return false }
        let expected = UnsafeBufferPointer(start: lowercase.utf8Start, count: lowercase.utf8CodeUnitCount)
        for (byte, want) in zip(bytes, expected) where (byte | 0x20) != want { return false }
        return true
    }
}
