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
/// The last segment of a log is read into memory instead: it is the one a live writer appends to
/// and recovery may cut at a torn tail, and a mapped file that shrinks under a reader kills the
/// process with SIGBUS. Sealed segments are never shortened in place (repair and compaction
/// write new files and rename them), so mapping them is safe.
final class SegmentBytes {
    private enum Storage {
        case mapped(UnsafeMutableRawPointer, Int)
        case read([UInt8])
    }

    private var storage: Storage
    /// Bytes before this offset were already given back to the kernel.
    private var releasedByteCount = 0

    /// Bytes released at a time: big enough that madvise costs nothing, small enough to matter.
    private static let releaseGranule = 8 << 20

    private init(_ storage: Storage) { self.storage = storage }

    /// No bytes, before the first segment is loaded.
    static let empty = SegmentBytes(.read([]))

    deinit {
        if case .mapped(let address, let count) = storage { munmap(address, count) }
    }

    /// The segment at `path`: mapped when `mapping` and the file is not empty, read otherwise.
    static func load(_ path: String, byteCountMax: Int, mapping: Bool) throws -> SegmentBytes {
        guard mapping else { return SegmentBytes(.read(try FileIO.readFile(path, byteCountMax: byteCountMax))) }
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

    var count: Int {
        switch storage {
        case .mapped(_, let count): return count
        case .read(let bytes): return bytes.count
        }
    }

    func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        switch storage {
        case .mapped(let address, let count): return try body(UnsafeRawBufferPointer(start: address, count: count))
        case .read(let bytes): return try bytes.withUnsafeBytes(body)
        }
    }

    /// Lets the kernel drop the mapped pages wholly before `offset`; reading them again later
    /// still works (they are read back from the file), it only costs time.
    func release(before offset: Int) {
        guard case .mapped(let address, _) = storage, offset - releasedByteCount >= Self.releaseGranule else { return }
        let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        let end = offset / pageSize * pageSize
        guard end > releasedByteCount else { return }
        _ = madvise(address + releasedByteCount, end - releasedByteCount, MADV_DONTNEED)
        releasedByteCount = end
    }
}
