import RewindRESP

/// An RDB file that cannot be read, with the place: the byte offset and, inside a key, the key.
///
/// The description is one line that starts with the place:
/// `dump.rdb @1042 (key "user:42"): expected 8 bytes of a binary double, found the end of the file`.
/// For a value packed in a blob (ziplist, listpack, intset, zipmap), the offset is where the blob
/// starts in the file and the message says where in the blob the damage is.
public struct RDBError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        /// The file ends before a record, value or the checksum is complete.
        public static let truncated = Code("truncated")
        /// The bytes do not follow the RDB format.
        public static let malformed = Code("malformed")
        /// The CRC-64 trailer does not match the file's contents.
        public static let checksumMismatch = Code("checksum mismatch")
        /// A record or value this reader does not read (streams, module values, an RDB version).
        public static let unsupported = Code("unsupported")
        /// A length above the reader's limits.
        public static let tooLarge = Code("too large")
        /// The file cannot be opened or read.
        public static let fileSystem = Code("file system")
        public var description: String { name }
    }

    public var code: Code
    /// The file as the user named it.
    public var file: String
    /// Where in `file` the damage is (or the blob holding it starts).
    public var byteOffset: Int
    /// The key being read, when the damage is inside a key's record.
    public var key: [UInt8]?
    /// What was expected and what was found.
    public var message: String

    public init(_ code: Code, file: String, byteOffset: Int, key: [UInt8]? = nil, _ message: String) {
        self.code = code
        self.file = file
        self.byteOffset = byteOffset
        self.key = key
        self.message = message
    }

    public var description: String {
        var place = "\(file) @\(byteOffset)"
        if let key { place += " (key \(ByteQuoting.quoted(key.prefix(200))))" }
        return "\(place): \(message)"
    }
}
