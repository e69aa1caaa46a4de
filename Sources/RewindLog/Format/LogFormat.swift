// Constants shared by the segment reader and writer. See docs/FORMAT.md (format version 1).

/// The on-disk constants of format version 1. Every value here is documented, with its byte
/// layout, in docs/FORMAT.md; a golden-fixture test reads logs written by this version.
public enum LogFormat {
    /// The format version written into every segment header, dictionary and manifest.
    public static let version: UInt16 = 1

    /// `REWINDSG`: the first eight bytes of every segment file.
    public static let segmentMagic: [UInt8] = Array("REWINDSG".utf8)
    /// Bytes of the fixed segment header.
    public static let segmentHeaderByteCount = 48

    /// `RWR1` (little-endian UInt32 0x31525752): the first four bytes of every record. It lets a
    /// salvaging reader find the next record after damage; it is not trusted without the CRC.
    public static let recordMagic: UInt32 = 0x3152_5752
    /// Bytes of the fixed record header that precedes each payload.
    public static let recordHeaderByteCount = 40
    /// The masked CRC covers the record from this offset (just after the checksum field) to the
    /// end of its payload, so the lengths, sequence numbers and flags are all covered.
    public static let recordChecksumCoverageStart = 8

    /// `REWINDDI`: the first eight bytes of a stored zstd dictionary.
    public static let dictionaryMagic: [UInt8] = Array("REWINDDI".utf8)
    /// Bytes of the dictionary file header.
    public static let dictionaryHeaderByteCount = 24

    /// The manifest's file name inside the log directory, and its first line.
    public static let manifestFileName = "MANIFEST"
    public static let manifestTemporaryFileName = "MANIFEST.tmp"
    public static let manifestFirstLine = "rewind-log 1"

    /// How a record's payload is stored (the low two bits of the record flags byte).
    public enum Compression: UInt8, Sendable, CaseIterable {
        /// Stored as is: used when compression would not save anything.
        case none = 0
        /// A zstd frame, without a dictionary.
        case zstd = 1
        /// A zstd frame compressed with the dictionary named in the segment header.
        case zstdDictionary = 2
    }

    /// Record flag bit 2: a snapshot record, written by compaction at the start of a `base`
    /// segment. Every entry of a snapshot record carries the record's `firstSequence`: together
    /// the snapshot records rebuild the state after that entry, so the sequence numbers of the
    /// entries kept after it never change. See docs/FORMAT.md, "Base segments".
    static let recordFlagSnapshot: UInt8 = 0b0000_0100
    /// The record flag bits other than the compression and the snapshot bit; all must be zero.
    static let recordFlagsReservedMask: UInt8 = 0b1111_1000

    /// File name of segment `id`: `seg-000000000001.rwseg`, sorted by name in id order.
    public static func segmentFileName(id: UInt64) -> String { "seg-" + zeroPadded(id, width: 12) + ".rwseg" }
    /// File name of dictionary `id`: `dict-000001.zdict`.
    public static func dictionaryFileName(id: UInt32) -> String {
        "dict-" + zeroPadded(UInt64(id), width: 6) + ".zdict"
    }

    static func zeroPadded(_ value: UInt64, width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
