// Record and segment headers. See docs/FORMAT.md, "Segments" and "Records".

/// The fixed 40-byte header in front of every record payload.
///
/// ```
/// offset size field
///      0    4 magic 0x31525752 ("RWR1")
///      4    4 masked CRC32C of bytes 8 ..< 40 + storedByteCount
///      8    4 storedByteCount        payload bytes as stored
///     12    4 uncompressedByteCount  payload bytes after decompression
///     16    8 firstSequence
///     24    4 entryCount             at least 1
///     28    1 flags                  bits 0-1 compression; bit 2 snapshot; bits 3-7 zero
///     29    3 reserved, zero
///     32    8 baseTimestampMilliseconds (the timestamp deltas of the entries start here)
/// ```
struct RecordHeader: Equatable {
    var storedByteCount: UInt32
    var uncompressedByteCount: UInt32
    var firstSequence: UInt64
    var entryCount: UInt32
    var compression: LogFormat.Compression
    var baseTimestampMilliseconds: Int64
    /// A snapshot record (compaction's base): every entry carries `firstSequence`.
    var isSnapshot = false

    /// The sequence number of the last entry; a snapshot record's entries all share its first.
    var lastSequence: UInt64 { isSnapshot ? firstSequence : firstSequence &+ UInt64(entryCount) &- 1 }
    var recordByteCount: Int { LogFormat.recordHeaderByteCount + Int(storedByteCount) }

    /// Writes the header and payload, with the checksum filled in, to the end of `buffer`.
    func append(payload: UnsafeRawBufferPointer, to buffer: inout [UInt8]) {
        let start = buffer.count
        buffer.appendLittleEndian(LogFormat.recordMagic)
        buffer.appendLittleEndian(UInt32(0))  // checksum, filled in below
        buffer.appendLittleEndian(storedByteCount)
        buffer.appendLittleEndian(uncompressedByteCount)
        buffer.appendLittleEndian(firstSequence)
        buffer.appendLittleEndian(entryCount)
        buffer.append(compression.rawValue | (isSnapshot ? LogFormat.recordFlagSnapshot : 0))
        buffer.append(contentsOf: [0, 0, 0])
        buffer.appendLittleEndian(baseTimestampMilliseconds)
        buffer.append(contentsOf: payload)
        let crc = buffer.withUnsafeBytes { all in
            CRC32C.checksum(UnsafeRawBufferPointer(rebasing: all[(start + LogFormat.recordChecksumCoverageStart)...]))
        }
        buffer.storeLittleEndian(CRC32C.mask(crc), at: start + 4)
    }

    /// The outcome of looking for a record at one offset.
    enum Parse {
        case valid(RecordHeader)
        /// Fewer bytes than the header or the claimed payload: a write that did not finish.
        case incomplete(String)
        case damaged(LogDamage.Kind, String)
    }

    /// Parses and checks the record at `offset`: magic, reserved bits, bounds, then the CRC.
    /// The length fields are used only to find the bytes to checksum, and only when they fit.
    static func parse(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> Parse {
        let available = bytes.count - offset
        guard available >= LogFormat.recordHeaderByteCount else {
            return .incomplete("\(available) bytes left, a record header needs \(LogFormat.recordHeaderByteCount)")
        }
        var cursor = ByteCursor(bytes, offset: offset)
        let magic = cursor.readLittleEndian(UInt32.self)!
        let storedCRC = cursor.readLittleEndian(UInt32.self)!
        let stored = cursor.readLittleEndian(UInt32.self)!
        let uncompressed = cursor.readLittleEndian(UInt32.self)!
        let firstSequence = cursor.readLittleEndian(UInt64.self)!
        let entryCount = cursor.readLittleEndian(UInt32.self)!
        let flags = cursor.readByte()!
        let reserved = [cursor.readByte()!, cursor.readByte()!, cursor.readByte()!]
        let baseTimestamp = cursor.readLittleEndian(Int64.self)!
        guard magic == LogFormat.recordMagic else {
            return .damaged(.badRecordHeader, "no record magic (found 0x\(String(magic, radix: 16)))")
        }
        guard Int(stored) <= available - LogFormat.recordHeaderByteCount else {
            return .incomplete("record claims \(stored) payload bytes, \(available - LogFormat.recordHeaderByteCount) left")
        }
        let crc = CRC32C.checksum(
            UnsafeRawBufferPointer(
                rebasing: bytes[(offset + LogFormat.recordChecksumCoverageStart)..<(offset + LogFormat.recordHeaderByteCount + Int(stored))]))
        guard CRC32C.mask(crc) == storedCRC else {
            return .damaged(.checksumMismatch, "checksum mismatch")
        }
        // The checksum matched, so anything wrong below was written that way: a bug or a forgery.
        guard flags & LogFormat.recordFlagsReservedMask == 0, reserved == [0, 0, 0],
            let compression = LogFormat.Compression(rawValue: flags & 0b11)
        else { return .damaged(.badRecordHeader, "unknown record flags 0x\(String(flags, radix: 16))") }
        guard entryCount >= 1, Int(entryCount) <= LogLimits.recordEntryCountMax, firstSequence >= 1,
            firstSequence <= UInt64.max - UInt64(entryCount)
        else { return .damaged(.badRecordHeader, "impossible entry count \(entryCount) from #\(firstSequence)") }
        guard Int(uncompressed) <= LogLimits.recordUncompressedByteCountMax,
            compression != .none || uncompressed == stored,
            Int(uncompressed) <= max(Int(stored), 64) * LogLimits.compressionRatioMax
        else { return .damaged(.badRecordHeader, "impossible payload size \(uncompressed) from \(stored) stored bytes") }
        return .valid(
            RecordHeader(
                storedByteCount: stored, uncompressedByteCount: uncompressed, firstSequence: firstSequence,
                entryCount: entryCount, compression: compression, baseTimestampMilliseconds: baseTimestamp,
                isSnapshot: flags & LogFormat.recordFlagSnapshot != 0))
    }
}

/// The fixed 48-byte header at the start of every segment file.
///
/// ```
/// offset size field
///      0    8 magic "REWINDSG"
///      8    2 format version (1)
///     10    2 header byte count (48)
///     12    4 dictionary id (0: records use no dictionary)
///     16    8 segment id
///     24    8 first sequence number of the segment
///     32    8 created, milliseconds since the Unix epoch
///     40    4 reserved, zero
///     44    4 masked CRC32C of bytes 0 ..< 44
/// ```
struct SegmentHeader: Equatable {
    var dictionaryID: UInt32
    var segmentID: UInt64
    var firstSequence: UInt64
    var createdMilliseconds: Int64

    func encoded() -> [UInt8] {
        var buffer = LogFormat.segmentMagic
        buffer.appendLittleEndian(LogFormat.version)
        buffer.appendLittleEndian(UInt16(LogFormat.segmentHeaderByteCount))
        buffer.appendLittleEndian(dictionaryID)
        buffer.appendLittleEndian(segmentID)
        buffer.appendLittleEndian(firstSequence)
        buffer.appendLittleEndian(createdMilliseconds)
        buffer.appendLittleEndian(UInt32(0))
        buffer.appendLittleEndian(CRC32C.mask(CRC32C.checksum(buffer)))
        return buffer
    }

    /// Parses a segment header; the reason why not when the bytes are not one.
    static func parse(_ bytes: UnsafeRawBufferPointer) -> Result<SegmentHeader, LogDamage.Detail> {
        guard bytes.count >= LogFormat.segmentHeaderByteCount else {
            return .failure(.init(kind: .badSegmentHeader, reason: "file has \(bytes.count) bytes, shorter than a segment header"))
        }
        guard Array(bytes[0..<8]) == LogFormat.segmentMagic else {
            return .failure(.init(kind: .badSegmentHeader, reason: "not a Rewind segment (bad magic)"))
        }
        var cursor = ByteCursor(bytes, offset: 8)
        let version = cursor.readLittleEndian(UInt16.self)!
        let headerByteCount = cursor.readLittleEndian(UInt16.self)!
        let dictionaryID = cursor.readLittleEndian(UInt32.self)!
        let segmentID = cursor.readLittleEndian(UInt64.self)!
        let firstSequence = cursor.readLittleEndian(UInt64.self)!
        let created = cursor.readLittleEndian(Int64.self)!
        let reserved = cursor.readLittleEndian(UInt32.self)!
        let storedCRC = cursor.readLittleEndian(UInt32.self)!
        guard CRC32C.mask(CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<44]))) == storedCRC else {
            return .failure(.init(kind: .badSegmentHeader, reason: "segment header checksum mismatch"))
        }
        guard version == LogFormat.version else {
            return .failure(.init(kind: .badSegmentHeader, reason: "format version \(version); this build reads version \(LogFormat.version)"))
        }
        guard headerByteCount == UInt16(LogFormat.segmentHeaderByteCount), reserved == 0, firstSequence >= 1 else {
            return .failure(.init(kind: .badSegmentHeader, reason: "malformed segment header"))
        }
        return .success(
            SegmentHeader(dictionaryID: dictionaryID, segmentID: segmentID, firstSequence: firstSequence, createdMilliseconds: created))
    }
}
