/// A failure to open, read or write a log that is not damage inside it: a missing directory, a
/// file system error, a manifest that is not a manifest, a closed writer, an entry over a limit.
public struct LogError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        /// A system call failed; the description carries `errno`'s text.
        public static let fileSystem = Code("file system")
        /// The directory holds no Rewind log.
        public static let notALog = Code("not a log")
        /// The manifest is unreadable or inconsistent.
        public static let badManifest = Code("bad manifest")
        /// An entry breaks a limit of `LogLimits`.
        public static let entryTooLarge = Code("entry too large")
        /// The writer was closed, or failed earlier and refuses further appends.
        public static let writerClosed = Code("writer closed")
        /// Damage that the recovery mode does not accept.
        public static let damaged = Code("damaged")
        /// Another process holds the log open for writing.
        public static let locked = Code("locked")
        public var description: String { name }
    }

    public var code: Code
    /// The file or directory concerned.
    public var path: String
    public var message: String
    /// The damage behind a `.damaged` error.
    public var damage: LogDamage?
    /// The `errno` of the system call that failed, for a `.fileSystem` error.
    public var errorNumber: Int32?

    public init(_ code: Code, path: String, _ message: String, damage: LogDamage? = nil, errorNumber: Int32? = nil) {
        self.code = code
        self.path = path
        self.message = message
        self.damage = damage
        self.errorNumber = errorNumber
    }

    public var description: String { "\(path): \(message)" }
}
