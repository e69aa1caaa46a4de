/// The list of a log's segments and dictionaries, in order. See docs/FORMAT.md, "Manifest".
///
/// A text file, one item a line, with a checksum line last, so that a manifest cut short or
/// edited by hand is detected rather than half-believed:
///
/// ```
/// rewind-log 1
/// dictionary 1 dict-000001.zdict
/// lost 5000 5012
/// segment 1 incr seg-000000000001.rwseg 1
/// segment 2 incr seg-000000000002.rwseg 4097
/// crc32c 5f3a9c1e
/// ```
public struct Manifest: Hashable, Sendable {
    /// A segment as the manifest names it.
    public struct Segment: Hashable, Sendable {
        /// `base` segments are written by compaction; `incr` segments by appends (Redis 7's
        /// multi-part AOF uses the same two words).
        public enum Kind: String, Hashable, Sendable { case base, incr }
        public var id: UInt64
        public var kind: Kind
        public var fileName: String
        public var firstSequence: UInt64

        public init(id: UInt64, kind: Kind = .incr, fileName: String, firstSequence: UInt64) {
            self.id = id
            self.kind = kind
            self.fileName = fileName
            self.firstSequence = firstSequence
        }
    }

    public struct Dictionary: Hashable, Sendable {
        public var id: UInt32
        public var fileName: String
    }

    public var segments: [Segment]
    public var dictionaries: [Dictionary]
    /// Sequence numbers a repair dropped with damaged records. Readers do not report the holes
    /// they leave as new damage: the loss was reported, and accepted, when the log was repaired.
    public var lostSequences: [ClosedRange<UInt64>]

    public init(segments: [Segment] = [], dictionaries: [Dictionary] = [], lostSequences: [ClosedRange<UInt64>] = []) {
        self.segments = segments
        self.dictionaries = dictionaries
        self.lostSequences = lostSequences
    }

    /// True when every sequence number in `range` was dropped by an earlier repair.
    func isAcknowledgedLoss(_ range: ClosedRange<UInt64>) -> Bool {
        var next = range.lowerBound
        for lost in lostSequences.sorted(by: { $0.lowerBound < $1.lowerBound }) where lost.upperBound >= next {
            guard lost.lowerBound <= next else { return false }
            if lost.upperBound >= range.upperBound { return true }
            next = lost.upperBound + 1
        }
        return false
    }

    func encoded() -> [UInt8] {
        var text = LogFormat.manifestFirstLine + "\n"
        for dictionary in dictionaries { text += "dictionary \(dictionary.id) \(dictionary.fileName)\n" }
        for lost in lostSequences { text += "lost \(lost.lowerBound) \(lost.upperBound)\n" }
        for segment in segments {
            text += "segment \(segment.id) \(segment.kind.rawValue) \(segment.fileName) \(segment.firstSequence)\n"
        }
        var bytes = Array(text.utf8)
        let crc = CRC32C.checksum(bytes)
        bytes += Array("crc32c \(String(crc, radix: 16))\n".utf8)
        return bytes
    }

    /// Parses a manifest; the error names the line that is wrong.
    static func parse(_ bytes: [UInt8], path: String) throws -> Manifest {
        func bad(_ message: String) -> LogError { LogError(.badManifest, path: path, message) }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw bad("not UTF-8 text") }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        guard lines.first == LogFormat.manifestFirstLine else {
            throw bad("first line is not '\(LogFormat.manifestFirstLine)': not a Rewind manifest of format 1")
        }
        guard let last = lines.last, last.hasPrefix("crc32c "), let stored = UInt32(last.dropFirst(7), radix: 16) else {
            throw bad("no checksum line at the end: the manifest was cut short")
        }
        // The checksum line is not covered by the checksum, so accept only the exact text the
        // writer makes: otherwise a flipped case bit ("5F" for "5f"), a sign or a lost final
        // newline would go unnoticed.
        guard last == "crc32c " + String(stored, radix: 16), bytes.last == 10 else {
            throw bad("malformed checksum line: the manifest was cut short or edited")
        }
        let covered = Array(lines.dropLast().joined(separator: "\n").utf8) + [10]
        guard CRC32C.checksum(covered) == stored else { throw bad("checksum mismatch") }
        var manifest = Manifest()
        for (number, line) in lines.enumerated().dropFirst().dropLast() {
            let fields = line.split(separator: " ").map(String.init)
            func field(_ index: Int) -> String? { index < fields.count ? fields[index] : nil }
            switch fields.first {
            case "dictionary":
                guard fields.count == 3, let id = UInt32(fields[1]), id > 0, Self.isPlainFileName(fields[2]) else {
                    throw bad("line \(number + 1): malformed dictionary line")
                }
                manifest.dictionaries.append(Dictionary(id: id, fileName: fields[2]))
            case "segment":
                guard fields.count == 5, let id = UInt64(fields[1]), let kind = Segment.Kind(rawValue: fields[2]),
                    Self.isPlainFileName(fields[3]), let first = UInt64(fields[4]), first >= 1
                else { throw bad("line \(number + 1): malformed segment line") }
                manifest.segments.append(Segment(id: id, kind: kind, fileName: fields[3], firstSequence: first))
            case "lost":
                guard fields.count == 3, let from = UInt64(fields[1]), let to = UInt64(fields[2]), from >= 1, from <= to else {
                    throw bad("line \(number + 1): malformed lost line")
                }
                manifest.lostSequences.append(from...to)
            default:
                throw bad("line \(number + 1): unknown item '\(field(0) ?? "")'")
            }
        }
        for (previous, next) in zip(manifest.segments, manifest.segments.dropFirst())
        where next.id <= previous.id || next.firstSequence < previous.firstSequence {
            throw bad("segments \(previous.id) and \(next.id) are out of order")
        }
        return manifest
    }

    /// A file name without a directory part, so a manifest cannot point outside its log.
    static func isPlainFileName(_ name: String) -> Bool {
        !name.isEmpty && !name.contains("/") && name != "." && name != ".."
    }
}

/// Reads and atomically replaces a log's manifest.
public enum ManifestStore {
    /// The steps of a manifest replacement, in order; tests stop after each to prove that a crash
    /// at any point leaves a readable log.
    public enum ReplaceStep: CaseIterable, Sendable {
        case partiallyWroteTemporary, wroteTemporary, renamed, syncedDirectory
    }

    public static func load(directory: String) throws -> Manifest {
        let path = FileIO.join(directory, LogFormat.manifestFileName)
        guard FileIO.exists(path) else {
            throw LogError(.notALog, path: directory, "no \(LogFormat.manifestFileName): not a Rewind log directory")
        }
        let bytes = try FileIO.readFile(path, byteCountMax: LogLimits.manifestByteCountMax)
        return try Manifest.parse(bytes, path: path)
    }

    /// Write the new manifest to a temporary file, fsync it, rename it over the old one, fsync the
    /// directory. A reader sees the old manifest or the new one, never a mix.
    ///
    /// - Parameter stopAfter: for crash tests only: return early after this step, as a crash would.
    public static func replace(_ manifest: Manifest, directory: String, stopAfter: ReplaceStep? = nil) throws {
        let temporary = FileIO.join(directory, LogFormat.manifestTemporaryFileName)
        let bytes = manifest.encoded()
        if stopAfter == .partiallyWroteTemporary {
            try FileIO.writeFileDurably(temporary, Array(bytes.prefix(bytes.count / 2)))
            return
        }
        try FileIO.writeFileDurably(temporary, bytes)
        if stopAfter == .wroteTemporary { return }
        try FileIO.rename(temporary, FileIO.join(directory, LogFormat.manifestFileName))
        if stopAfter == .renamed { return }
        try FileIO.syncDirectory(directory)
    }
}
