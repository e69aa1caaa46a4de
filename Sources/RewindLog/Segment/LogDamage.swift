/// A damaged range of a log, with enough detail to go and look at it.
///
/// Readers report damage through a `DamageReporter` and never print; the recovery mode decides
/// what the damage means. The description starts with the place, as `rewind verify` prints it:
/// `seg-000000000003.rwseg @1048120: checksum mismatch (4096 bytes dropped, record 17, #480-#511 lost)`.
public struct LogDamage: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of damage this is.
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        private enum Code: String, Hashable, Sendable {
            case tornTail = "torn tail"
            case checksumMismatch = "checksum mismatch"
            case badRecordHeader = "bad record header"
            case undecodablePayload = "undecodable payload"
            case sequenceGap = "sequence gap"
            case sequenceRegression = "sequence out of order"
            case truncatedSegment = "truncated segment"
            case badSegmentHeader = "bad segment header"
            case missingSegment = "missing segment"
            case missingDictionary = "missing dictionary"
        }
        private let code: Code
        private init(_ code: Code) { self.code = code }

        /// The final record of the last segment is incomplete or fails its checksum: a write that
        /// did not finish before a crash. Only here is damage expected and cut off by default.
        public static let tornTail = Kind(.tornTail)
        /// A record's bytes do not match its checksum. The length field is not trusted after this.
        public static let checksumMismatch = Kind(.checksumMismatch)
        /// No record magic where a record should start, or header fields that cannot be right.
        public static let badRecordHeader = Kind(.badRecordHeader)
        /// The checksum matched but the payload does not decompress or decode: written that way.
        public static let undecodablePayload = Kind(.undecodablePayload)
        /// Whole records are missing: the sequence numbers jump.
        public static let sequenceGap = Kind(.sequenceGap)
        /// A record repeats or goes back in the sequence: it is dropped.
        public static let sequenceRegression = Kind(.sequenceRegression)
        /// A segment other than the last ends in the middle of a record.
        public static let truncatedSegment = Kind(.truncatedSegment)
        /// A segment file's header is unreadable, so the whole file is lost.
        public static let badSegmentHeader = Kind(.badSegmentHeader)
        /// The manifest names a segment file that is not there.
        public static let missingSegment = Kind(.missingSegment)
        /// A segment needs a dictionary that is missing or damaged.
        public static let missingDictionary = Kind(.missingDictionary)

        public var description: String { code.rawValue }
    }

    /// The kind and reason, before the place is known.
    public struct Detail: Error, Hashable, Sendable {
        public var kind: Kind
        public var reason: String
    }

    public var kind: Kind
    /// The segment file, by name inside the log directory.
    public var segmentFileName: String
    /// Where the damaged range starts in that file.
    public var byteOffset: Int
    /// How many bytes the damaged range spans (the bytes a repair drops).
    public var byteCount: Int
    /// The index, inside its segment, of the first record that was lost (counting whole records
    /// read before it), when known.
    public var recordIndex: Int?
    /// The sequence numbers lost, when the records around the damage tell.
    public var lostSequences: ClosedRange<UInt64>?
    /// A short explanation in words.
    public var reason: String

    public init(
        kind: Kind, segmentFileName: String, byteOffset: Int, byteCount: Int, recordIndex: Int? = nil,
        lostSequences: ClosedRange<UInt64>? = nil, reason: String
    ) {
        self.kind = kind
        self.segmentFileName = segmentFileName
        self.byteOffset = byteOffset
        self.byteCount = byteCount
        self.recordIndex = recordIndex
        self.lostSequences = lostSequences
        self.reason = reason
    }

    public var description: String {
        var details = ["\(byteCount) bytes dropped"]
        if let recordIndex { details.append("record \(recordIndex)") }
        if let lostSequences {
            details.append(lostSequences.count == 1 ? "entry #\(lostSequences.lowerBound) lost"
                : "entries #\(lostSequences.lowerBound)-#\(lostSequences.upperBound) lost")
        }
        let why = reason == kind.description ? "" : ": \(reason)"
        return "\(segmentFileName) @\(byteOffset): \(kind)\(why) (\(details.joined(separator: ", ")))"
    }
}

/// Receives each damaged range a reader finds (LevelDB's `Reader::Reporter`).
public protocol DamageReporter: AnyObject {
    func report(_ damage: LogDamage)
}

/// Keeps every damage reported, in order.
public final class DamageCollector: DamageReporter {
    public private(set) var damages: [LogDamage] = []
    public init() {}
    public func report(_ damage: LogDamage) { damages.append(damage) }
}

/// How a reader treats damage. Named as RocksDB names its WAL recovery modes.
public enum RecoveryMode: String, Sendable, CaseIterable, CustomStringConvertible {
    /// Default. An incomplete or checksum-failing final record of the last segment is cut off and
    /// reported; any other damage is an error.
    case tolerateTail = "tolerate-tail"
    /// Any damage, a torn tail included, is an error.
    case absolute
    /// Reading stops at the first damage, which is reported; everything before it is returned.
    case pointInTime = "point-in-time"
    /// Each damaged range is reported and skipped; reading goes on with the next good record.
    case skipDamaged = "skip-damaged"

    public var description: String { rawValue }
}
