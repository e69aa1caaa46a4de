import CCRC32C

/// CRC32C (Castagnoli) with LevelDB's masking, used for every header and record in the log.
///
/// Masking: a CRC computed over data that itself contains CRCs is a weak check, so stored CRCs are
/// rotated and offset (LevelDB `crc32c::Mask`). The constants are part of format version 1.
public enum CRC32C {
    static let maskDelta: UInt32 = 0xa282_ead8

    /// The CRC32C of `bytes`, extending `crc` (0 to start).
    @inlinable
    public static func checksum(_ bytes: UnsafeRawBufferPointer, extending crc: UInt32 = 0) -> UInt32 {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return crc }
        return rewind_crc32c_extend(crc, base.assumingMemoryBound(to: UInt8.self), bytes.count)
    }

    /// The CRC32C of `bytes`, extending `crc` (0 to start).
    public static func checksum(_ bytes: [UInt8], extending crc: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0, extending: crc) }
    }

    /// The stored form of a CRC.
    public static func mask(_ crc: UInt32) -> UInt32 {
        ((crc >> 15) | (crc << 17)) &+ maskDelta
    }

    /// The CRC back from its stored form.
    public static func unmask(_ masked: UInt32) -> UInt32 {
        let rotated = masked &- maskDelta
        return (rotated >> 17) | (rotated << 15)
    }

    /// True when this CPU computes CRC32C with the SSE4.2 instruction.
    public static var usesHardware: Bool { rewind_crc32c_hardware_available() != 0 }
}
