import Foundation

/// Reads a text file line by line in chunks, so that a large MONITOR capture is never held in
/// memory whole. Lines end at `\n`; the `\n` is not returned (a `\r` before it is).
struct LineReader {
    private let handle: FileHandle
    let displayName: String
    private var buffer: [UInt8] = []
    private var position = 0
    private var atEndOfFile = false
    private var consumedBeforeBuffer = 0
    static let chunkByteCount = 1024 * 1024

    init(path: String, displayName: String) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw ImportError(.fileSystem, file: displayName, "cannot open the file for reading")
        }
        self.handle = handle
        self.displayName = displayName
    }

    /// Bytes consumed so far.
    var byteOffset: Int { consumedBeforeBuffer + position }

    /// The next line, or nil at the end of the file. A last line without `\n` is returned too.
    mutating func nextLine() throws -> [UInt8]? {
        var scanned = 0
        while true {
            if let newline = buffer[(position + scanned)...].firstIndex(of: 10) {
                let line = Array(buffer[position..<newline])
                position = newline + 1
                return line
            }
            scanned = buffer.count - position
            if atEndOfFile {
                guard scanned > 0 else { return nil }
                let line = Array(buffer[position...])
                position = buffer.count
                return line
            }
            if position > 0 {
                consumedBeforeBuffer += position
                buffer.removeFirst(position)
                position = 0
            }
            let data: Data
            do {
                data = try handle.read(upToCount: Self.chunkByteCount) ?? Data()
            } catch {
                throw ImportError(.fileSystem, file: displayName, byteOffset: byteOffset, "read failed: \(error.localizedDescription)")
            }
            if data.isEmpty { atEndOfFile = true } else { buffer.append(contentsOf: data) }
        }
    }
}
