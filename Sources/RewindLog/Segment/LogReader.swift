/// Reads a log directory: every entry from any sequence number, checked, with damage reported.
///
/// The reader loads one segment file at a time, checks each record's CRC before it believes
/// anything in it, decompresses only the records it must deliver, and decodes entries without
/// copying their arguments. It is not thread-safe; use one reader per thread.
///
/// ```swift
/// let reader = try LogReader(directory: "orders.rwlog")
/// let summary = try reader.forEachEntry(from: 1000) { entry in
///     print(entry.sequence, entry.arguments.count)
/// }
/// ```
public final class LogReader {
    public let directory: String
    public let manifest: Manifest
    private let decompressor = ZstdDecompressor()
    private var failedDictionaries: [UInt32: LogDamage.Detail] = [:]
    private var scratch = EntryCodec.Scratch()
    private var payloadBuffer: [UInt8] = []

    /// Opens the log in `directory` for reading; fails when it holds no readable manifest.
    public init(directory: String) throws {
        self.directory = directory
        self.manifest = try ManifestStore.load(directory: directory)
    }

    /// Reads the segments `manifest` names in `directory`, whatever the directory's own manifest
    /// says: compaction proves a candidate log this way before it installs the candidate's manifest.
    public init(directory: String, manifest: Manifest) {
        self.directory = directory
        self.manifest = manifest
    }

    /// What one pass over the log saw.
    public struct Summary: Hashable, Sendable {
        /// Entries delivered to the caller.
        public var entryCount = 0
        /// Whole, checked records read (including those skipped before the start sequence).
        public var recordCount = 0
        /// The sequence number of the last entry of the last good record, 0 when there is none.
        public var lastSequence: UInt64 = 0
        /// Every damage reported, in order.
        public var damages: [LogDamage] = []
        /// True when reading ended at damage rather than at the end of the log.
        public var stoppedAtDamage = false
        /// The last segment read and where its last good record ends, which is where a writer
        /// appends and where a repair cuts.
        public var tail: (segmentIndex: Int, byteOffset: Int)?
        /// Zero bytes after the last record of the last segment: space a writer preallocated
        /// (docs/FORMAT.md, "Preallocation"), not damage. A writer reopening the log cuts them.
        public var preallocatedByteCount = 0

        public static func == (lhs: Summary, rhs: Summary) -> Bool {
            lhs.entryCount == rhs.entryCount && lhs.recordCount == rhs.recordCount
                && lhs.lastSequence == rhs.lastSequence && lhs.damages == rhs.damages
                && lhs.stoppedAtDamage == rhs.stoppedAtDamage && lhs.tail?.0 == rhs.tail?.0 && lhs.tail?.1 == rhs.tail?.1
        }
        public func hash(into hasher: inout Hasher) { hasher.combine(entryCount); hasher.combine(lastSequence) }
    }

    /// Where a record sits, for tools that show or rewrite records.
    public struct RecordInfo: Sendable {
        public var segmentIndex: Int
        public var segmentFileName: String
        public var recordIndex: Int
        public var byteOffset: Int
        public var recordByteCount: Int
        public var storedPayloadByteCount: Int
        public var uncompressedPayloadByteCount: Int
        public var firstSequence: UInt64
        public var entryCount: Int
        public var compression: LogFormat.Compression
        /// The timestamp of the record's first entry.
        public var baseTimestampMilliseconds: Int64 = 0
        /// A compaction snapshot record: all its entries carry `firstSequence`.
        public var isSnapshot = false
        /// The sequence number of the record's last entry.
        public var lastSequence: UInt64 {
            isSnapshot ? firstSequence : firstSequence &+ UInt64(entryCount) &- 1
        }
    }

    /// Calls `body` with every entry from `sequence` on, in order.
    ///
    /// - Parameters:
    ///   - sequence: the first sequence number to deliver; earlier records are checked but not
    ///     decompressed, and earlier segments are not read at all.
    ///   - recovery: what damage means (see `RecoveryMode`).
    ///   - reporter: receives each damage as it is found.
    ///   - onRecord: called before the entries of each record delivered.
    /// - Returns: what was read and found.
    /// - Throws: `LogError` with code `.damaged` when the recovery mode refuses a damage (it is
    ///   reported first); `LogError` for file system failures; whatever `body` throws.
    @discardableResult
    public func forEachEntry(
        from sequence: UInt64 = 1,
        recovery: RecoveryMode = .tolerateTail,
        reporter: DamageReporter? = nil,
        onRecord: ((RecordInfo) throws -> Void)? = nil,
        _ body: (EntryView) throws -> Void
    ) throws -> Summary {
        var delivered = 0
        var summary = try scan(from: sequence, recovery: recovery, reporter: reporter) { info, header, stored in
            try onRecord?(info)
            try self.decode(header: header, stored: stored, from: sequence) { entry in
                delivered += 1
                try body(entry)
            }
        }
        summary.entryCount = delivered
        return summary
    }

    /// Calls `body` with every whole record of the log, in order, checking each CRC but decoding
    /// nothing: the cheap pass that finds record boundaries (compaction's cut).
    @discardableResult
    public func forEachRecord(
        recovery: RecoveryMode = .tolerateTail, reporter: DamageReporter? = nil, _ body: (RecordInfo) throws -> Void
    ) throws -> Summary {
        try scan(from: .max, visitsEverySegment: true, recovery: recovery, reporter: reporter) { info, _, _ in try body(info) }
    }

    /// Reads every entry from `sequence` on into memory.
    public func readAll(from sequence: UInt64 = 1, recovery: RecoveryMode = .tolerateTail) throws -> (entries: [LogEntry], summary: Summary) {
        var entries: [LogEntry] = []
        let summary = try forEachEntry(from: sequence, recovery: recovery) { entries.append($0.materialize()) }
        return (entries, summary)
    }

    // MARK: - Scanning

    private typealias RecordBody = (RecordInfo, RecordHeader, UnsafeRawBufferPointer) throws -> Void

    private struct DecodeDamage: Error { let detail: LogDamage.Detail }

    private func scan(
        from startSequence: UInt64, visitsEverySegment: Bool = false, recovery: RecoveryMode, reporter: DamageReporter?,
        body: RecordBody
    ) throws -> Summary {
        var summary = Summary()
        var expected: UInt64?
        var pending: LogDamage?
        let segments = manifest.segments
        let startIndex = visitsEverySegment ? 0 : segments.lastIndex { $0.firstSequence <= startSequence } ?? 0

        /// Applies the recovery mode; false means stop reading.
        func emit(_ damage: LogDamage) throws -> Bool {
            summary.damages.append(damage)
            reporter?.report(damage)
            switch recovery {
            case .absolute:
                throw LogError(.damaged, path: directory, damage.description, damage: damage)
            case .tolerateTail where damage.kind != .tornTail:
                throw LogError(.damaged, path: directory, damage.description + Self.advice(damage), damage: damage)
            case .tolerateTail, .pointInTime:
                summary.stoppedAtDamage = true
                return false
            case .skipDamaged:
                return true
            }
        }

        /// Settles a pending damage once the next good sequence number is known.
        func settle(nextSequence: UInt64?) throws -> Bool {
            guard var damage = pending else { return true }
            pending = nil
            if let expected, let nextSequence, nextSequence > expected {
                damage.lostSequences = expected...(nextSequence - 1)
            }
            return try emit(damage)
        }

        segmentLoop: for segmentIndex in segments.indices.dropFirst(startIndex) {
            let segment = segments[segmentIndex]
            let isLast = segmentIndex == segments.count - 1
            if expected == nil { expected = segment.firstSequence }
            if let loss = try loadSegment(segment, isLast: isLast) {
                let damage = LogDamage(
                    kind: loss.kind, segmentFileName: segment.fileName, byteOffset: 0, byteCount: loss.byteCount,
                    recordIndex: 0, reason: loss.reason)
                guard try settle(nextSequence: segment.firstSequence) else { break }
                pending = damage
                if isLast {
                    // Nothing after it tells how many entries were lost.
                    guard try settle(nextSequence: nil) else { break }
                }
                continue
            }
            if segment.firstSequence != expected, pending == nil, let known = expected, segment.firstSequence > known,
                !manifest.isAcknowledgedLoss(known...(segment.firstSequence - 1))
            {
                pending = LogDamage(
                    kind: .sequenceGap, segmentFileName: segment.fileName, byteOffset: 0, byteCount: 0, recordIndex: 0,
                    reason: "segment starts at #\(segment.firstSequence), expected #\(known)")
            }
            guard try settle(nextSequence: segment.firstSequence) else { break }
            expected = segment.firstSequence
            let shouldStop = try segmentBytes.withUnsafeBytes { bytes -> Bool in
                var offset = LogFormat.segmentHeaderByteCount
                var recordIndex = 0
                var checksumBudget = Self.resynchronizationBudget(segmentByteCount: bytes.count)
                var onlySnapshotsSoFar = true
                summary.tail = (segmentIndex, offset)
                while offset < bytes.count {
                    segmentBytes.ensureRecordLoaded(at: offset)
                    switch RecordHeader.parse(bytes, at: offset) {
                    case .valid(let header):
                        let recordEnd = offset + header.recordByteCount
                        if header.isSnapshot {
                            // Snapshot records all carry the sequence number of their base segment
                            // and come first in it; anywhere else one would repeat sequence numbers.
                            let first = header.firstSequence
                            let fits = segment.kind == .base && onlySnapshotsSoFar && first == segment.firstSequence
                                && (expected == first || (recordIndex > 0 && expected == first &+ 1))
                            if !fits {
                                guard try settle(nextSequence: nil) else { return true }
                                let damage = LogDamage(
                                    kind: .badRecordHeader, segmentFileName: segment.fileName, byteOffset: offset,
                                    byteCount: header.recordByteCount, recordIndex: recordIndex,
                                    reason: "snapshot record at #\(first) outside the start of a base segment")
                                guard try emit(damage) else { return true }
                                offset = recordEnd
                                recordIndex += 1
                                continue
                            }
                            expected = first
                        } else {
                            onlySnapshotsSoFar = false
                        }
                        if let known = expected, header.firstSequence < known {
                            // Damage just before a regressing record is still reported, first.
                            guard try settle(nextSequence: nil) else { return true }
                            let damage = LogDamage(
                                kind: .sequenceRegression, segmentFileName: segment.fileName, byteOffset: offset,
                                byteCount: header.recordByteCount, recordIndex: recordIndex,
                                reason: "record starts at #\(header.firstSequence), expected #\(known)")
                            guard try emit(damage) else { return true }
                            offset = recordEnd
                            recordIndex += 1
                            continue
                        }
                        if let known = expected, header.firstSequence > known, pending == nil,
                            !manifest.isAcknowledgedLoss(known...(header.firstSequence - 1))
                        {
                            pending = LogDamage(
                                kind: .sequenceGap, segmentFileName: segment.fileName, byteOffset: offset, byteCount: 0,
                                recordIndex: recordIndex, reason: "record starts at #\(header.firstSequence), expected #\(known)")
                        }
                        guard try settle(nextSequence: header.firstSequence) else { return true }
                        expected = header.lastSequence &+ 1
                        let info = RecordInfo(
                            segmentIndex: segmentIndex, segmentFileName: segment.fileName, recordIndex: recordIndex,
                            byteOffset: offset, recordByteCount: header.recordByteCount,
                            storedPayloadByteCount: Int(header.storedByteCount),
                            uncompressedPayloadByteCount: Int(header.uncompressedByteCount),
                            firstSequence: header.firstSequence, entryCount: Int(header.entryCount),
                            compression: header.compression, baseTimestampMilliseconds: header.baseTimestampMilliseconds,
                            isSnapshot: header.isSnapshot)
                        let stored = UnsafeRawBufferPointer(
                            rebasing: bytes[(offset + LogFormat.recordHeaderByteCount)..<recordEnd])
                        do {
                            if visitsEverySegment || header.lastSequence >= startSequence { try body(info, header, stored) }
                        } catch let failure as DecodeDamage {
                            let damage = LogDamage(
                                kind: failure.detail.kind, segmentFileName: segment.fileName, byteOffset: offset,
                                byteCount: header.recordByteCount, recordIndex: recordIndex,
                                lostSequences: header.firstSequence...header.lastSequence, reason: failure.detail.reason)
                            guard try emit(damage) else { return true }
                        }
                        summary.recordCount += 1
                        summary.lastSequence = header.lastSequence
                        offset = recordEnd
                        segmentBytes.release(before: offset)
                        recordIndex += 1
                        summary.tail = (segmentIndex, offset)
                    case .incomplete(let reason), .damaged(_, let reason):
                        segmentBytes.ensureLoaded(upTo: bytes.count)
                        if isLast && Self.isZeroFilled(bytes, from: offset) {
                            // Zeros a writer put ahead of its records (docs/FORMAT.md,
                            // "Preallocation"): the end of the log, not damage. No record can
                            // start with a zero byte (the magic), so none is hidden there.
                            summary.preallocatedByteCount = bytes.count - offset
                            return false
                        }
                        let next = Self.resynchronize(bytes, after: offset, budget: &checksumBudget)
                        var kind = LogDamage.Kind.badRecordHeader
                        if case .damaged(let parsedKind, _) = RecordHeader.parse(bytes, at: offset) { kind = parsedKind }
                        if next == nil { kind = isLast ? .tornTail : (kind == .checksumMismatch ? kind : .truncatedSegment) }
                        let end = next ?? bytes.count
                        pending = LogDamage(
                            kind: kind, segmentFileName: segment.fileName, byteOffset: offset, byteCount: end - offset,
                            recordIndex: recordIndex, reason: next == nil && isLast ? "final record incomplete or corrupt: \(reason)" : reason)
                        if next == nil && isLast { return try !settle(nextSequence: nil) }
                        offset = end
                    }
                }
                return false
            }
            if shouldStop { break segmentLoop }
        }
        if pending != nil { _ = try settle(nextSequence: nil) }
        return summary
    }

    /// Whether every byte of `bytes` from `offset` on is zero.
    static func isZeroFilled(_ bytes: UnsafeRawBufferPointer, from offset: Int) -> Bool {
        var index = offset
        // Eight bytes at a time, then the rest.
        while index + 8 <= bytes.count {
            if bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self) != 0 { return false }
            index += 8
        }
        while index < bytes.count {
            if bytes[index] != 0 { return false }
            index += 1
        }
        return true
    }

    private static func advice(_ damage: LogDamage) -> String {
        "; run `rewind verify` to list all damage, or `rewind repair --skip-damaged` to keep the good records"
    }

    /// The offset of the next valid record after a damaged one, found by its magic and checked by
    /// its CRC; nil when none follows. Lengths inside the damaged range are not trusted.
    ///
    /// `budget` bounds the bytes checksummed for records that prove damaged, over a whole segment
    /// (see `resynchronizationBudget`): a hostile file packed with magics whose lengths claim most
    /// of the file would otherwise cost a checksum of the file per candidate, a quadratic hang.
    /// Once it is spent the answer is nil, and the rest of the segment is one damaged range.
    static func resynchronize(_ bytes: UnsafeRawBufferPointer, after offset: Int, budget: inout Int) -> Int? {
        let magic: (UInt8, UInt8, UInt8, UInt8) = (0x52, 0x57, 0x52, 0x31)
        budget -= checkedByteCount(bytes, at: offset)  // the damaged record itself was checksummed
        var candidate = offset + 1
        while candidate + LogFormat.recordHeaderByteCount <= bytes.count && budget >= 0 {
            if bytes[candidate] == magic.0 && bytes[candidate + 1] == magic.1 && bytes[candidate + 2] == magic.2
                && bytes[candidate + 3] == magic.3
            {
                if case .valid = RecordHeader.parse(bytes, at: candidate) { return candidate }
                budget -= checkedByteCount(bytes, at: candidate)
            }
            candidate += 1
        }
        return nil
    }

    /// Bytes of failed checksums one segment may cost: sixteen times its size, far more than any
    /// real damage needs (each damaged record costs at most the file once), linear all the same.
    static func resynchronizationBudget(segmentByteCount: Int) -> Int { 16 * segmentByteCount + (16 << 20) }

    /// What checking the record at `offset` checksums: its header and the payload it claims.
    private static func checkedByteCount(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> Int {
        guard offset + 12 <= bytes.count else { return 0 }
        let stored = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset + 8, as: UInt32.self)))
        return 2 * LogFormat.recordHeaderByteCount + min(stored, bytes.count - offset)
    }

    // MARK: - Segments and payloads

    private var segmentBytes = SegmentBytes.empty
    private var segmentDictionaryID: UInt32 = 0

    /// Loads a segment into `segmentBytes`; returns the loss when the file cannot be used at all.
    private func loadSegment(_ segment: Manifest.Segment, isLast: Bool) throws -> (kind: LogDamage.Kind, byteCount: Int, reason: String)? {
        let path = FileIO.join(directory, segment.fileName)
        guard FileIO.exists(path) else { return (.missingSegment, 0, "segment file is missing") }
        segmentBytes = SegmentBytes.empty
        segmentBytes = try SegmentBytes.load(path, byteCountMax: LogLimits.segmentByteCountMax, mapping: !isLast)
        segmentBytes.ensureLoaded(upTo: LogFormat.segmentHeaderByteCount)
        let parsed = segmentBytes.withUnsafeBytes { SegmentHeader.parse($0) }
        switch parsed {
        case .failure(let detail):
            return (detail.kind, segmentBytes.count, detail.reason)
        case .success(let header):
            guard header.segmentID == segment.id, header.firstSequence == segment.firstSequence else {
                return (.badSegmentHeader, segmentBytes.count, "segment header (id \(header.segmentID), first #\(header.firstSequence)) does not match the manifest")
            }
            if header.dictionaryID != 0, let failure = loadDictionary(header.dictionaryID) {
                return (failure.kind, segmentBytes.count, failure.reason)
            }
            segmentDictionaryID = header.dictionaryID
            return nil
        }
    }

    private func loadDictionary(_ id: UInt32) -> LogDamage.Detail? {
        if decompressor.hasDictionary(id) { return nil }
        if let failure = failedDictionaries[id] { return failure }
        let failure: LogDamage.Detail
        if let entry = manifest.dictionaries.first(where: { $0.id == id }) {
            let path = FileIO.join(directory, entry.fileName)
            if let bytes = try? FileIO.readFile(path, byteCountMax: LogLimits.dictionaryByteCountMax + LogFormat.dictionaryHeaderByteCount) {
                switch StoredDictionary.decode(bytes, id: id) {
                case .success(let dictionary):
                    decompressor.register(dictionaryID: id, bytes: dictionary)
                    return nil
                case .failure(let detail): failure = detail
                }
            } else {
                failure = .init(kind: .missingDictionary, reason: "dictionary file \(entry.fileName) is unreadable")
            }
        } else {
            failure = .init(kind: .missingDictionary, reason: "the manifest names no dictionary \(id)")
        }
        failedDictionaries[id] = failure
        return failure
    }

    /// The decoding buffers are kept between records up to these sizes; one unusually big record
    /// (a 76,000-entry group of the 5M-command workload) would otherwise leave its 6 MB of
    /// argument spans and 2.5 MB of payload resident for the rest of a replay, and at its peak.
    /// A base segment's snapshot records are all about 1 MiB (`BaseSegmentBuilder`), one after
    /// the other, so the buffers are kept whole while they last: dropping them after each made
    /// every record allocate, zero and fault in a new payload buffer and regrow its spans from
    /// nothing (26 times for the 5M workload's base). The first ordinary record that needs less
    /// than a quarter of them trims them.
    private static let keptSpanCountMax = 1 << 14
    private static let keptPayloadByteCountMax = 256 << 10

    private func decode(header: RecordHeader, stored: UnsafeRawBufferPointer, from startSequence: UInt64, body: (EntryView) throws -> Void) throws {
        defer {
            // Trimmed when far bigger than this record needed: a run of big records keeps them.
            if !header.isSnapshot {
                if scratch.spans.capacity > max(Self.keptSpanCountMax, 4 * scratch.spans.count) { scratch = EntryCodec.Scratch() }
                if payloadBuffer.count > max(Self.keptPayloadByteCountMax, 4 * Int(header.uncompressedByteCount)) { payloadBuffer = [] }
            }
        }
        func decodePayload(_ payload: UnsafeRawBufferPointer) throws {
            do {
                try EntryCodec.decode(
                    payload: payload, firstSequence: header.firstSequence, entryCount: Int(header.entryCount),
                    baseTimestampMilliseconds: header.baseTimestampMilliseconds, sharesSequence: header.isSnapshot,
                    scratch: &scratch
                ) { entry in
                    if entry.sequence >= startSequence { try body(entry) }
                }
            } catch let failure as EntryCodec.DecodeFailure {
                throw DecodeDamage(detail: .init(kind: .undecodablePayload, reason: "entry \(failure.entryIndex): \(failure.reason)"))
            }
        }
        if header.compression == .none { return try decodePayload(stored) }
        let count = Int(header.uncompressedByteCount)
        // Believe the header's size only when the frame declares the same, before allocating it.
        guard ZstdDecompressor.declaredContentSize(stored) == UInt64(count) else {
            throw DecodeDamage(detail: .init(kind: .undecodablePayload, reason: "zstd frame does not hold the \(count) bytes the header claims"))
        }
        if payloadBuffer.count < count {
            // Snapshot records differ by a few bytes around their target size: some slack, so the
            // next one does not need a new buffer again.
            payloadBuffer = [UInt8](repeating: 0, count: header.isSnapshot ? count + count / 8 : count)
        }
        try payloadBuffer.withUnsafeMutableBytes { buffer in
            let target = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<count])
            do {
                try decompressor.decompress(stored, into: target, dictionaryID: header.compression == .zstdDictionary ? segmentDictionaryID : nil)
            } catch let error as ZstdError {
                throw DecodeDamage(detail: .init(kind: .undecodablePayload, reason: "zstd: \(error.description)"))
            }
            try decodePayload(UnsafeRawBufferPointer(target))
        }
    }
}
