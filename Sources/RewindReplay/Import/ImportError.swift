/// A source file that cannot be imported, with the place and what was expected there.
///
/// The description is one line that starts with the place, so an operator can go and look:
/// `appendonly.aof.2.incr.aof @1042: expected '$' and a bulk length, found 'x'`, or, for MONITOR
/// captures, `monitor.txt line 17: expected a timestamp such as 1700000000.123456`.
public struct ImportError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        /// The bytes do not follow the AOF or MONITOR grammar.
        public static let malformed = Code("malformed")
        /// The last file ends in the middle of a command or of a MULTI block (a short write).
        public static let truncated = Code("truncated")
        /// A base file in RDB format (the `REDIS` preamble). No longer raised: RDB bases are imported.
        public static let rdbPreamble = Code("RDB preamble")
        /// The appenddir manifest is missing or malformed.
        public static let badManifest = Code("bad manifest")
        /// A file cannot be opened or read.
        public static let fileSystem = Code("file system")
        /// A length or count is above the importer's limits.
        public static let tooLarge = Code("too large")
        public var description: String { name }
    }

    public var code: Code
    /// The file concerned, as the user named it or as the manifest names it.
    public var file: String
    /// The byte offset in `file`, for AOF files.
    public var byteOffset: Int?
    /// The 1-based line number, for MONITOR captures and manifests.
    public var line: Int?
    /// What was expected and what was found, in words.
    public var message: String

    public init(_ code: Code, file: String, byteOffset: Int? = nil, line: Int? = nil, _ message: String) {
        self.code = code
        self.file = file
        self.byteOffset = byteOffset
        self.line = line
        self.message = message
    }

    public var description: String {
        var place = file
        if let byteOffset { place += " @\(byteOffset)" }
        if let line { place += " line \(line)" }
        return "\(place): \(message)"
    }
}
