#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Thin, checked wrappers over the POSIX calls the log needs. Each failure becomes a `LogError`
/// naming the path and `errno`'s text.
enum FileIO {

    static func fail(_ path: String, _ what: String) -> LogError {
        let number = errno
        return LogError(.fileSystem, path: path, "\(what): \(String(cString: strerror(number)))", errorNumber: number)
    }

    static func join(_ directory: String, _ name: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    static func exists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }

    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    static func fileSize(_ path: String) throws -> Int {
        var info = stat()
        guard stat(path, &info) == 0 else { throw fail(path, "stat") }
        return Int(info.st_size)
    }

    static func makeDirectory(_ path: String) throws {
        if isDirectory(path) { return }
        guard mkdir(path, 0o755) == 0 || errno == EEXIST else { throw fail(path, "mkdir") }
    }

    /// Reads a whole file, refusing files larger than `byteCountMax`.
    static func readFile(_ path: String, byteCountMax: Int) throws -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw fail(path, "open") }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw fail(path, "fstat") }
        let size = Int(info.st_size)
        guard size <= byteCountMax else {
            throw LogError(.fileSystem, path: path, "file of \(size) bytes exceeds the limit of \(byteCountMax)")
        }
        var bytes = [UInt8](repeating: 0, count: size)
        var filled = 0
        while filled < size {
            let count = bytes.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress! + filled, size - filled, off_t(filled)) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { throw fail(path, "read") }
            if count == 0 { break }  // the file shrank while we read it
            filled += count
        }
        if filled < size { bytes.removeSubrange(filled...) }
        return bytes
    }

    /// The first `byteCount` bytes of a file (fewer when the file is shorter).
    static func readPrefix(_ path: String, byteCount: Int) throws -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw fail(path, "open") }
        defer { close(descriptor) }
        var bytes = [UInt8](repeating: 0, count: byteCount)
        let count = bytes.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress!, byteCount, 0) }
        guard count >= 0 else { throw fail(path, "read") }
        return Array(bytes[0..<count])
    }

    static func writeAll(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
        var written = 0
        while written < bytes.count {
            let count = write(descriptor, bytes.baseAddress! + written, bytes.count - written)
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { throw fail(path, "write") }
            written += count
        }
    }

    /// Writes all of `bytes` at `offset` (pwrite: the descriptor's position is not used).
    static func writeAll(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int, path: String) throws {
        var written = 0
        while written < bytes.count {
            let count = pwrite(descriptor, bytes.baseAddress! + written, bytes.count - written, off_t(offset + written))
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { throw fail(path, "write") }
            written += count
        }
    }

    /// Writes `bytes` to `path` and fsyncs it (the file is created or replaced).
    static func writeFileDurably(_ path: String, _ bytes: [UInt8]) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw fail(path, "open") }
        defer { close(descriptor) }
        try bytes.withUnsafeBytes { try writeAll(descriptor, $0, path: path) }
        guard fsync(descriptor) == 0 else { throw fail(path, "fsync") }
    }

    /// Makes a rename or a new file in `directory` durable.
    static func syncDirectory(_ directory: String) throws {
        let descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw fail(directory, "open directory") }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw fail(directory, "fsync directory") }
    }

    static func rename(_ from: String, _ to: String) throws {
        guard Glibc.rename(from, to) == 0 else { throw fail(to, "rename from \(from)") }
    }

    static func remove(_ path: String) throws {
        guard unlink(path) == 0 || errno == ENOENT else { throw fail(path, "unlink") }
    }

    static func truncate(_ path: String, to byteCount: Int) throws {
        guard Glibc.truncate(path, off_t(byteCount)) == 0 else { throw fail(path, "truncate") }
    }

    static func listDirectory(_ path: String) throws -> [String] {
        guard let directory = opendir(path) else { throw fail(path, "opendir") }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    static func nowMilliseconds() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Int64(time.tv_sec) * 1000 + Int64(time.tv_nsec) / 1_000_000
    }

    static func monotonicNanoseconds() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }
}
