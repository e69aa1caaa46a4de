/// One logged command, or a marker the log keeps beside the commands.
///
/// The log stores entries as opaque data: it never interprets `arguments`. Sequence numbers are
/// dense from 1 and assigned by the writer; `sequence` is ignored when an entry is appended.
public struct LogEntry: Hashable, Sendable {
    /// What an entry is. The raw values are part of format version 1.
    public enum Kind: UInt8, Sendable, CaseIterable, CustomStringConvertible {
        /// A command as it must be replayed (already deterministic).
        case command = 0
        /// A state digest at this point of the log; `arguments[0]` holds the digest bytes.
        case checkpoint = 1
        /// Opens a transaction (MULTI). Its commands follow, then `transactionEnd`, in one record.
        case transactionBegin = 2
        /// Closes a transaction (EXEC).
        case transactionEnd = 3

        public var description: String {
            switch self {
            case .command: "command"
            case .checkpoint: "checkpoint"
            case .transactionBegin: "multi"
            case .transactionEnd: "exec"
            }
        }
    }

    /// Dense from 1 across the whole log.
    public var sequence: UInt64
    /// When the command ran, in milliseconds since the Unix epoch.
    public var timestampMilliseconds: Int64
    /// The database index the command ran in (Redis SELECT).
    public var db: UInt32
    public var kind: Kind
    /// The command's arguments as binary-safe byte strings, the command name first.
    public var arguments: [[UInt8]]
    /// A 64-bit hash of the reply the client got, when the writer recorded one.
    public var replyHash: UInt64?

    public init(
        sequence: UInt64 = 0,
        timestampMilliseconds: Int64,
        db: UInt32 = 0,
        kind: Kind = .command,
        arguments: [[UInt8]],
        replyHash: UInt64? = nil
    ) {
        self.sequence = sequence
        self.timestampMilliseconds = timestampMilliseconds
        self.db = db
        self.kind = kind
        self.arguments = arguments
        self.replyHash = replyHash
    }

    /// A command entry from text arguments (tests and tools).
    public static func command(_ arguments: [String], at timestampMilliseconds: Int64, db: UInt32 = 0) -> LogEntry {
        LogEntry(timestampMilliseconds: timestampMilliseconds, db: db, arguments: arguments.map { Array($0.utf8) })
    }
}

/// A decoded entry that borrows its bytes from the record buffer being read.
///
/// Valid only inside the closure it is passed to: it points into the reader's buffers, so that
/// reading and checking a log does not allocate per argument. Call `materialize()` to keep it.
public struct EntryView {
    public let sequence: UInt64
    public let timestampMilliseconds: Int64
    public let db: UInt32
    public let kind: LogEntry.Kind
    public let replyHash: UInt64?
    public let arguments: Arguments

    /// The arguments of an `EntryView`, each a slice of the decompressed record.
    ///
    /// Inlinable: a replay's reading thread reads every argument of every entry through it, and
    /// a call per argument across the module boundary was 6% of that thread's time.
    public struct Arguments: RandomAccessCollection {
        @usableFromInline let spans: UnsafeBufferPointer<ArgumentSpan>
        @inlinable public var startIndex: Int { 0 }
        @inlinable public var endIndex: Int { spans.count }
        @inlinable public subscript(position: Int) -> UnsafeRawBufferPointer {
            let span = spans[position]
            return UnsafeRawBufferPointer(start: span.base, count: span.byteCount)
        }
    }

    /// The arguments copied out of the reader's buffers; an argument the log stored as a
    /// well-known token (a command name) comes back as one array shared by every entry.
    public func copiedArguments() -> [[UInt8]] {
        var copied: [[UInt8]] = []
        copied.reserveCapacity(arguments.count)
        for index in arguments.indices {
            let argument = arguments[index]
            if index == 0, let shared = WellKnownTokens.sharedArray(argument) {
                copied.append(shared)
            } else {
                copied.append(Array(argument))
            }
        }
        return copied
    }

    /// The first argument as the array shared by every entry, when the log stored it as a
    /// well-known token (a command name); nil otherwise.
    public var sharedFirstArgument: [UInt8]? {
        arguments.isEmpty ? nil : WellKnownTokens.sharedArray(arguments[0])
    }

    /// Copies the entry out of the reader's buffers.
    public func materialize() -> LogEntry {
        LogEntry(
            sequence: sequence,
            timestampMilliseconds: timestampMilliseconds,
            db: db,
            kind: kind,
            arguments: copiedArguments(),
            replyHash: replyHash
        )
    }
}

@usableFromInline
struct ArgumentSpan {
    @usableFromInline var base: UnsafeRawPointer?
    @usableFromInline var byteCount: Int
    var buffer: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: byteCount) }
}
