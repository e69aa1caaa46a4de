// A child process for the crash tests: appends entries to a log and prints each acknowledged
// sequence number on stdout, one a line, flushed at once. The test kills it with SIGKILL at a
// random moment and checks that every sequence number it printed can be read back.
//
// usage: rewind-append-child LOG POLICY WRITERS [SEED]
import Foundation
import RewindLog

let arguments = CommandLine.arguments
guard arguments.count >= 4, let policy = DurabilityPolicy(rawValue: arguments[2]), let writerCount = Int(arguments[3]) else {
    FileHandle.standardError.write("usage: rewind-append-child LOG always|everysec|no WRITERS [SEED]\n".data(using: .utf8)!)
    exit(2)
}
let seed = arguments.count > 4 ? UInt64(arguments[4]) ?? 1 : 1
let writer = try LogWriter.open(directory: arguments[1], options: .init(durability: policy, segmentByteCountTarget: 256 * 1024, dictionarySampleEntryCount: 300))
let output = FileHandle.standardOutput
let outputLock = NSLock()
let threads = (0..<writerCount).map { writerIndex in
    Thread {
        var counter: UInt64 = seed &* 1_000_003 &+ UInt64(writerIndex)
        while true {
            counter &+= 1
            let value = String(repeating: "v", count: Int(counter % 200))
            let entry = LogEntry.command(["SET", "key:\(writerIndex):\(counter)", value], at: Int64(counter))
            guard let sequence = try? writer.append(entry) else { exit(3) }
            // Printed only after append returned: under `always` this is the acknowledgement.
            outputLock.lock()
            output.write("\(sequence) \(writerIndex) \(counter)\n".data(using: .utf8)!)
            outputLock.unlock()
        }
    }
}
threads.forEach { $0.start() }
while true { sleep(60) }
