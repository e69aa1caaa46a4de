import Foundation
import RewindCLI
import RewindLog
import RewindTestSupport

/// What one in-process run of `rewind` produced.
struct RunResult {
    var code: Int32
    var out: String
    var err: String
    var outLines: [String] { out.split(separator: "\n", omittingEmptySubsequences: false).map(String.init).filter { !$0.isEmpty } }
}

/// Runs `rewind` with `arguments` in-process, as `main()` would, capturing both streams.
func rewind(_ arguments: [String]) -> RunResult {
    final class Box: @unchecked Sendable { var out = ""; var err = "" }
    let box = Box()
    let output = CommandOutput(showsProgress: false, columns: 80, out: { box.out += $0 + "\n" }, error: { box.err += $0 + "\n" })
    let code = Rewind.run(arguments, output: output)
    return RunResult(code: code, out: box.out, err: box.err)
}

enum CLIFixtures {
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()
    static func path(_ relative: String) -> String { root + "/fixtures/" + relative }
}

/// A log of `count` SET commands, one record each (written under `always`, one at a time).
func makeLog(at path: String, count: Int = 10) throws {
    let writer = try LogWriter.open(directory: path, options: .init(durability: .always, trainsDictionary: false))
    for index in 1...count {
        try writer.append(.command(["SET", "key:\(index)", "value \(index)"], at: 1_700_000_000_000 + Int64(index), db: UInt32(index % 2)))
    }
    try writer.close()
}

/// Where each record of the log sits.
func recordInfos(_ path: String) throws -> [LogReader.RecordInfo] {
    var infos: [LogReader.RecordInfo] = []
    try LogReader(directory: path).forEachEntry(onRecord: { infos.append($0) }) { _ in }
    return infos
}

/// Every file of a directory with its bytes, to prove a command left a log untouched.
func snapshot(_ directory: String) throws -> [String: Data] {
    var files: [String: Data] = [:]
    for name in try FileManager.default.contentsOfDirectory(atPath: directory) {
        files[name] = try Data(contentsOf: URL(fileURLWithPath: directory + "/" + name))
    }
    return files
}

func flipBit(in file: String, at offset: Int, bit: Int = 3) throws {
    var bytes = try Data(contentsOf: URL(fileURLWithPath: file))
    bytes[offset] ^= UInt8(1 << bit)
    try bytes.write(to: URL(fileURLWithPath: file))
}

func truncate(_ file: String, by count: Int) throws {
    let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
    try bytes.prefix(bytes.count - count).write(to: URL(fileURLWithPath: file))
}
