/// A zstd dictionary file inside a log. See docs/FORMAT.md, "Dictionaries".
///
/// ```
/// offset size field
///      0    8 magic "REWINDDI"
///      8    2 format version (1)
///     10    2 reserved, zero
///     12    4 dictionary id
///     16    4 dictionary byte count
///     20    4 masked CRC32C of bytes 0 ..< 20 and of the dictionary bytes
///     24    n the dictionary, as ZDICT_trainFromBuffer made it
/// ```
enum StoredDictionary {
    static func encode(id: UInt32, dictionary: [UInt8]) -> [UInt8] {
        var bytes = LogFormat.dictionaryMagic
        bytes.appendLittleEndian(LogFormat.version)
        bytes.appendLittleEndian(UInt16(0))
        bytes.appendLittleEndian(id)
        bytes.appendLittleEndian(UInt32(dictionary.count))
        let crc = CRC32C.checksum(dictionary, extending: CRC32C.checksum(bytes))
        bytes.appendLittleEndian(CRC32C.mask(crc))
        return bytes + dictionary
    }

    /// The dictionary bytes, or the reason the file is not a good dictionary `id`.
    static func decode(_ bytes: [UInt8], id: UInt32) -> Result<[UInt8], LogDamage.Detail> {
        func damaged(_ reason: String) -> Result<[UInt8], LogDamage.Detail> {
            .failure(.init(kind: .missingDictionary, reason: reason))
        }
        guard bytes.count >= LogFormat.dictionaryHeaderByteCount, Array(bytes[0..<8]) == LogFormat.dictionaryMagic else {
            return damaged("dictionary \(id) is not a Rewind dictionary file")
        }
        return bytes.withUnsafeBytes { raw in
            var cursor = ByteCursor(raw, offset: 8)
            let version = cursor.readLittleEndian(UInt16.self)!
            _ = cursor.readLittleEndian(UInt16.self)!
            let storedID = cursor.readLittleEndian(UInt32.self)!
            let count = Int(cursor.readLittleEndian(UInt32.self)!)
            let storedCRC = cursor.readLittleEndian(UInt32.self)!
            guard version == LogFormat.version, storedID == id, count == bytes.count - LogFormat.dictionaryHeaderByteCount
            else { return damaged("dictionary \(id): header does not match the file") }
            let crc = CRC32C.checksum(
                UnsafeRawBufferPointer(rebasing: raw[LogFormat.dictionaryHeaderByteCount...]),
                extending: CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[0..<20])))
            guard CRC32C.mask(crc) == storedCRC else { return damaged("dictionary \(id): checksum mismatch") }
            return .success(Array(bytes[LogFormat.dictionaryHeaderByteCount...]))
        }
    }
}
