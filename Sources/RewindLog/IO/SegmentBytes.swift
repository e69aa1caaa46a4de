// The bytes of one segment while a reader walks it: mapped for sealed segments, read for the last.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A segment's bytes, held so that reading a log costs little resident memory.
///
/// Reading a 64 MiB segment into an array made the reader's own buffer the largest allocation
/// of a replay (docs/REPLAY.md). A sealed segment is instead mapped read-only, and the reader
/// calls ``release(before:)`` as it passes through it, so the kernel drops the pages already
/// checked and decoded: a replay then holds a few megabytes of log, whatever the segment size.
///
/// The last segment of a log is not mapped: it is the one a live writer appends to and recovery
/// may cut at a torn tail, and a mapped file that shrinks under a reader kills the process with
/// SIGBUS. It is read instead, into anonymous memory reserved for the whole file, a few megabytes
/// at a time just ahead of the reader (``ensureRecordLoaded(at:)``), and released behind it the
/// same way, so it never sits in memory whole either. Sealed segments are never shortened in
/// place (repair and compaction write new files and rename them), so mapping them is safe.
final class SegmentBytes {
    private enum Storage {
        case mapped(UnsafeMutableRawPointer, Int)
        case read([UInt8])
        /// Anonymous memory for `count` bytes of the file open at `descriptor`, filled on demand.
        case lazy(descriptor: Int32, base: UnsafeMutableRawPointer, count: Int)
    }

    private var storage: Storage
    /// Bytes before this offset were already given back to the kernel.
    private var releasedByteCount = 0

    /// Bytes before this offset were read from the file (lazy storage).
    private var loadedByteCount = 0

    /// Bytes released at a time: big enough that madvise costs nothing (one call per 256 KiB), small
    /// enough that the log adds little to a replay's peak memory (it was 8 MiB, and the mapped
    /// log plus the last segment read ahead were most of the gap between a 5M-command replay's
    /// peak and its final size, docs/REPLAY.md).
    private static let releaseGranule = 256 << 10
    /// Bytes read ahead at a time into lazy storage.
    private static let loadGranule = 256 << 10

    private init(_ storage: Storage) { self.storage = storage }

    /// No bytes, before the first segment is loaded.
    static let empty = SegmentBytes(.read([]))

    deinit {
        switch storage {
        case .mapped(let address, let count): munmap(address, count)
        case .lazy(let descriptor, let base, let count):
            munmap(base, count)
            close(descriptor)
        case .read: break
        }
    }

    /// The segment at `path`: mapped when `mapping` and the file is not empty, read otherwise.
    static func load(_ path: String, byteCountMax: Int, mapping: Bool) throws -> SegmentBytes {
        guard mapping else { return try loadLazily(path, byteCountMax: byteCountMax) }
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return SegmentBytes(.read(try FileIO.readFile(path, byteCountMax: byteCountMax))) }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { return SegmentBytes(.read(try FileIO.readFile(path, byteCountMax: byteCountMax))) }
        let size = Int(info.st_size)
        guard size <= byteCountMax else {
            throw LogError(.fileSystem, path: path, "file of \(size) bytes exceeds the limit of \(byteCountMax)")
        }
        guard size > 0, let address = mmap(nil, size, PROT_READ, MAP_PRIVATE, descriptor, 0), address != MAP_FAILED else {
            return SegmentBytes(.read(try FileIO.readFile(path, byteCountMax: byteCountMax)))
        }
        _ = madvise(address, size, MADV_SEQUENTIAL)
        return SegmentBytes(.mapped(address, size))
    }

    /// The file at `path` in anonymous memory filled as the reader advances; read whole when
    /// the memory cannot be reserved.
    private static func loadLazily(_ path: String, byteCountMax: Int) throws -> SegmentBytes {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return SegmentBytes(.read(try FileIO.readFile(path, byteCountMax: byteCountMax))) }
        var info = stat()
        let size = fstat(descriptor, &info) == 0 ? Int(info.st_size) : -1
        guard size > 0, size <= byteCountMax,
              let base = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), base != MAP_FAILED
        else {
            close(descriptor)
            return SegmentBytes(.read(try FileIO.readFile(path, byteCountMax: byteCountMax)))
        }
        return SegmentBytes(.lazy(descriptor: descriptor, base: base, count: size))
    }

    var count: Int {
        switch storage {
        case .mapped(_, let count): return count
        case .read(let bytes): return bytes.count
        case .lazy(_, _, let count): return count
        }
    }

    func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        switch storage {
        case .mapped(let address, let count): return try body(UnsafeRawBufferPointer(start: address, count: count))
        case .read(let bytes): return try bytes.withUnsafeBytes(body)
        case .lazy(_, let base, let count): return try body(UnsafeRawBufferPointer(start: base, count: count))
        }
    }

    /// Makes sure the bytes before `end` (at most the whole file) were read into lazy storage.
    /// A file that shrank since it was opened leaves zeros past its new end, which the record
    /// checksums then report as damage, as a shorter read would have.
    func ensureLoaded(upTo end: Int) {
        guard case .lazy(let descriptor, let base, let count) = storage, end > loadedByteCount else { return }
        let target = min(count, max(end, loadedByteCount + Self.loadGranule))
        while loadedByteCount < target {
            let result = pread(descriptor, base + loadedByteCount, target - loadedByteCount, off_t(loadedByteCount))
            if result < 0 && errno == EINTR { continue }
            guard result > 0 else {
                loadedByteCount = count  // the file shrank or cannot be read: the zeros stay
                return
            }
            loadedByteCount += result
        }
    }

    /// Makes sure the record starting at `offset` is loaded: its header, then as many bytes as
    /// the header's stored-size field claims (a damaged claim loads at most the rest of the file).
    func ensureRecordLoaded(at offset: Int) {
        guard case .lazy(_, let base, let count) = storage else { return }
        let headerEnd = offset + LogFormat.recordHeaderByteCount
        ensureLoaded(upTo: headerEnd)
        guard headerEnd <= count else { return }
        let stored = UInt32(littleEndian: UnsafeRawPointer(base + offset + 8).loadUnaligned(as: UInt32.self))
        ensureLoaded(upTo: headerEnd + Int(stored))
    }

    /// Lets the kernel drop the mapped pages wholly before `offset`; reading them again later
    /// still works (they are read back from the file), it only costs time.
    func release(before offset: Int) {
        let address: UnsafeMutableRawPointer
        switch storage {
        case .mapped(let base, _): address = base
        case .lazy(_, let base, _): address = base
        case .read: return
        }
        guard offset - releasedByteCount >= Self.releaseGranule else { return }
        let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        let end = offset / pageSize * pageSize
        guard end > releasedByteCount else { return }
        _ = madvise(address + releasedByteCount, end - releasedByteCount, MADV_DONTNEED)
        releasedByteCount = end
    }
}
