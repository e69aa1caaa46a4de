// Bounds on everything a log file can claim. See docs/FORMAT.md, "Limits".

/// The bounds a reader checks every length field against before it allocates or slices, and the
/// writer respects so that everything it writes can be read back.
///
/// A length field in a damaged or hostile file is only believed once it is below its bound *and*
/// the bytes it claims are present in the file. Relationships between these constants are
/// checked by the `LimitsTests` suite.
public enum LogLimits {
    /// One argument of one entry: Redis's own `proto-max-bulk-len` (512 MiB), so that anything a
    /// Redis client can send can be logged.
    public static let argumentByteCountMax = 512 * 1024 * 1024

    /// Arguments of one entry: Redis accepts up to 1,048,576 arguments by default in a multibulk
    /// request. A larger entry is refused by the writer, and a reader treats one as damage.
    public static let argumentCountMax = 1024 * 1024

    /// The uncompressed payload of one record. It must hold the largest entry (one argument at
    /// `argumentByteCountMax` plus its framing) and leaves room for a large transaction.
    public static let recordUncompressedByteCountMax = 1024 * 1024 * 1024

    /// The stored (compressed) payload of one record. Compression never makes zstd output much
    /// larger than its input, so the uncompressed bound plus zstd's worst-case overhead suffices.
    public static let recordStoredByteCountMax = recordUncompressedByteCountMax + 8 * 1024 * 1024

    /// Entries of one record. Each entry takes at least three bytes of payload, so this follows
    /// from the payload bound; it is stated on its own so that a header can be rejected early.
    public static let recordEntryCountMax = recordUncompressedByteCountMax / 3

    /// zstd cannot expand data by more than this ratio: a raw-literal or RLE block of 128 KiB needs
    /// at least 3 bytes. A header claiming more uncompressed bytes than `stored * ratio` is damage,
    /// so a tiny hostile record cannot make the reader allocate a gigabyte.
    public static let compressionRatioMax = 44_000

    /// A segment file the reader will load. Writers rotate long before this (64 MiB by default);
    /// the bound exists so that a huge foreign file is refused rather than read into memory.
    public static let segmentByteCountMax = 8 * 1024 * 1024 * 1024

    /// The manifest is a short text file; anything larger is not a Rewind manifest.
    public static let manifestByteCountMax = 16 * 1024 * 1024

    /// A zstd dictionary stored in the log. zstd itself recommends about 100 KiB; 4 MiB is generous.
    public static let dictionaryByteCountMax = 4 * 1024 * 1024
}
