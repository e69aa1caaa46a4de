// What `rewind serve` is told at start, and the limits it enforces. See docs/SERVER.md.

import RewindLog
import RewindRESP

/// How a ``RedisServer`` listens, logs, recovers and protects itself.
///
/// Every default is Redis 7.0's, except the address (loopback only) and the log directory.
public struct ServerConfiguration: Sendable {
    /// The log directory; created when missing.
    public var directory: String = "./rewind-data"
    /// The address to listen on. Loopback by default, as Redis's protected mode would insist.
    public var bindAddress: String = "127.0.0.1"
    /// The TCP port; 0 picks a free one (tests read it back from ``RedisServer/port``).
    public var port: Int = 6379
    /// When a write's entry must be on disk before its reply leaves (Redis `appendfsync`).
    public var durability: DurabilityPolicy = .everysec
    /// Under `everysec` and `no`: reply once a write's entry is queued in the log instead of once
    /// it is written to the OS. Saves a thread round trip per batch; a process crash may then lose
    /// the acknowledged writes the log had not written yet (normally its last 2 ms). Ignored
    /// under `always`.
    public var repliesBeforeWrite = false
    /// The password of the default user (Redis `requirepass`), or nil for none.
    public var requirePassword: String?
    /// How startup treats damage found in the log.
    public var recovery: RecoveryMode = .tolerateTail
    /// How many databases SELECT accepts (Redis `databases`).
    public var databaseCount: Int = 16
    /// How often per second the server runs active expiry (Redis `hz`).
    public var hz: Int = 10
    /// Seeds the keyspace's random choices (SPOP, RANDOMKEY, expiry sampling).
    public var randomSeed: UInt64 = 0x5EED
    /// The protocol and client limits.
    public var limits = ServerLimits()
    /// How much unread reply data a client may leave before it is dropped (Redis
    /// `client-output-buffer-limit`; Redis's defaults).
    public var outputBufferLimits = ClientOutputBufferLimits()
    /// Store with each logged write the XXH64 hash of the reply the client got (``ReplyHash``),
    /// so `rewind replay --check` can name the first entry the engine now answers differently.
    /// See docs/FORMAT.md, "Reply hashes", for which entries carry one.
    public var recordsReplies = false
    /// After every this many logged entries, append a checkpoint entry holding the state digest
    /// (DEBUG DIGEST's 20 bytes); 0 for none. Computing it walks the whole keyspace on the event loop.
    public var checkpointEntryCount = 0
    /// Compact the log in the background (as BGREWRITEAOF) once it has grown this many percent
    /// over its size after the last compaction (or at start)... (Redis `auto-aof-rewrite-percentage`;
    /// 0 disables the automatic trigger.)
    public var autoCompactPercentage = 100
    /// ...and is at least this many bytes (Redis `auto-aof-rewrite-min-size`, 64 MiB).
    public var autoCompactMinByteCount = 64 * 1024 * 1024
    /// For crash tests only: a ``LogCompaction/Step`` name (`writing-base`, `base-written`,
    /// `manifest-written`, `manifest-renamed`, `deleting-old`) at which an online compaction
    /// kills the process with SIGKILL.
    public var compactionCrashStep: String?

    public init() {}
}

/// The bounds that keep one client from hurting the others. Each is Redis 7.0's default and has
/// Redis's parameter name in CONFIG GET/SET.
public struct ServerLimits: Sendable, Hashable {
    /// `proto-max-bulk-len`: the longest bulk string a request may carry (512 MiB).
    public var bulkByteCountMax: Int = 512 * 1024 * 1024
    /// The largest argument count of one request (Redis: anything up to `INT_MAX`).
    public var multibulkCountMax: Int = Int(Int32.max)
    /// `PROTO_INLINE_MAX_SIZE`: the longest inline request or header line (64 KiB).
    public var lineByteCountMax: Int = 64 * 1024
    /// `client-query-buffer-limit`: the most bytes one client may have buffered but not yet
    /// parsed into a whole command (1 GiB). Past it the client is closed, as Redis closes it.
    public var queryBufferByteCountMax: Int = 1024 * 1024 * 1024
    /// `maxclients`: connections past this get `-ERR max number of clients reached` and are closed.
    public var clientCountMax: Int = 10_000

    public init() {}

    /// The parser limits these bounds imply.
    var parserLimits: RESPLimits {
        RESPLimits(bulkByteCountMax: bulkByteCountMax, multibulkCountMax: multibulkCountMax,
                   lineByteCountMax: lineByteCountMax)
    }
}

extension ServerConfiguration {
    /// A memory size as Redis's configuration takes it (`memtoull`): a number with an optional
    /// b, k, kb, m, mb, g or gb suffix in any case; nil when malformed, negative or past Int.max.
    /// Used by CONFIG SET and by `rewind serve`'s size flags.
    public static func memoryByteCount(_ text: String) -> Int? {
        let lowered = text.lowercased()
        let units: [(String, Int)] = [("gb", 1 << 30), ("g", 1_000_000_000), ("mb", 1 << 20), ("m", 1_000_000),
                                      ("kb", 1024), ("k", 1000), ("b", 1)]
        for (suffix, factor) in units where lowered.hasSuffix(suffix) {
            guard let number = Int(lowered.dropLast(suffix.count)), number >= 0 else { return nil }
            let (product, overflow) = number.multipliedReportingOverflow(by: factor)
            return overflow ? nil : product
        }
        guard let number = Int(lowered), number >= 0 else { return nil }
        return number
    }
}

