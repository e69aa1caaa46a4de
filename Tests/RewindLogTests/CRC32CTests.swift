import CCRC32C
import Testing
@testable import RewindLog
import RewindTestSupport

/// RFC 3720 §B.4 known answers (LevelDB `util/crc32c_test.cc`), on both paths of the C target.
@Suite("CRC32C")
struct CRC32CTests {
    typealias Path = @Sendable (UInt32, UnsafePointer<UInt8>?, Int) -> UInt32

    static let paths: [(name: String, extend: Path)] = [
        ("hardware", { rewind_crc32c_extend_hardware($0, $1, $2) }),
        ("portable", { rewind_crc32c_extend_portable($0, $1, $2) }),
        ("dispatching", { rewind_crc32c_extend($0, $1, $2) }),
    ]

    static func crc(_ bytes: [UInt8], path: Path, extending crc: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBufferPointer { path(crc, $0.baseAddress, $0.count) }
    }

    /// The 48-byte iSCSI read command of RFC 3720 §B.4.
    static let iSCSIReadCommand: [UInt8] = [
        0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18,
        0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    ]

    static let vectors: [(name: String, bytes: [UInt8], crc: UInt32)] = [
        ("32 zero bytes", [UInt8](repeating: 0, count: 32), 0x8A91_36AA),
        ("32 0xFF bytes", [UInt8](repeating: 0xFF, count: 32), 0x62A8_AB43),
        ("0 to 31 ascending", (0..<32).map { UInt8($0) }, 0x46DD_794E),
        ("31 to 0 descending", (0..<32).reversed().map { UInt8($0) }, 0x113F_DB5C),
        ("iSCSI read command", iSCSIReadCommand, 0xD996_3A56),
    ]

    @Test("RFC 3720 vectors on the hardware, portable and dispatching paths", arguments: 0..<3)
    func rfc3720Vectors(pathIndex: Int) {
        let path = Self.paths[pathIndex]
        for vector in Self.vectors {
            #expect(Self.crc(vector.bytes, path: path.extend) == vector.crc, "\(path.name): \(vector.name)")
            // The same bytes at every misalignment.
            for shift in 1..<8 {
                let padded = [UInt8](repeating: 0xA5, count: shift) + vector.bytes
                let crc = padded.withUnsafeBufferPointer { path.extend(0, $0.baseAddress! + shift, vector.bytes.count) }
                #expect(crc == vector.crc, "\(path.name): \(vector.name) at +\(shift)")
            }
        }
    }

    @Test("The Swift wrapper gives the RFC 3720 answers")
    func swiftWrapper() {
        for vector in Self.vectors { #expect(CRC32C.checksum(vector.bytes) == vector.crc, "\(vector.name)") }
        #expect(CRC32C.checksum([]) == 0)
        #expect(CRC32C.checksum([], extending: 0x1234_5678) == 0x1234_5678)
    }

    @Test("The hardware path is used on a CPU with SSE4.2")
    func hardwareDetection() throws {
        #if arch(x86_64)
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        if cpuinfo.contains(" sse4_2") { #expect(CRC32C.usesHardware) }
        #else
        #expect(!CRC32C.usesHardware)
        #endif
    }

    @Test("Both paths agree on every length 0...100 at every start alignment, and extend in pieces")
    func pathsAgree() {
        var generator = SeededGenerator(seed: 3720)
        let data = RandomEntries.bytes(count: 4096 + 16, using: &generator)
        data.withUnsafeBufferPointer { buffer in
            for start in 0..<16 {
                for length in 0...100 {
                    let base = buffer.baseAddress! + start
                    let hardware = rewind_crc32c_extend_hardware(0, base, length)
                    let portable = rewind_crc32c_extend_portable(0, base, length)
                    #expect(hardware == portable, "start \(start) length \(length)")
                    // extend(extend(0, a), b) == crc(a + b) for every split point.
                    for split in stride(from: 0, through: length, by: max(1, length / 7)) {
                        let first = rewind_crc32c_extend_portable(0, base, split)
                        #expect(rewind_crc32c_extend_hardware(first, base + split, length - split) == portable)
                        let firstHW = rewind_crc32c_extend_hardware(0, base, split)
                        #expect(rewind_crc32c_extend_portable(firstHW, base + split, length - split) == portable)
                    }
                }
            }
            // Long inputs too, where the 8-byte loops do most of the work.
            for length in [1000, 4095, 4096] {
                #expect(rewind_crc32c_extend_hardware(0, buffer.baseAddress! + 3, length)
                    == rewind_crc32c_extend_portable(0, buffer.baseAddress! + 3, length))
            }
        }
    }

    @Test("extend(crc(a), b) == crc(a + b) in the Swift API")
    func extendIsConcatenation() {
        let a = Array("hello ".utf8), b = Array("world".utf8)
        #expect(CRC32C.checksum(b, extending: CRC32C.checksum(a)) == CRC32C.checksum(a + b))
        #expect(CRC32C.checksum(a) != CRC32C.checksum(b))
    }

    @Test("mask and unmask round-trip, and masking changes the value")
    func masking() {
        var generator = SeededGenerator(seed: 17)
        let values: [UInt32] = [0, 1, 0xFFFF_FFFF, 0x8A91_36AA, CRC32C.maskDelta]
            + (0..<1000).map { _ in UInt32.random(in: 0...UInt32.max, using: &generator) }
        for value in values {
            #expect(CRC32C.unmask(CRC32C.mask(value)) == value)
            #expect(CRC32C.mask(CRC32C.unmask(value)) == value)
            #expect(CRC32C.mask(value) != value)
            #expect(CRC32C.mask(CRC32C.mask(value)) != value)
        }
        // LevelDB's constant: mask(crc) = rotr15(crc) + 0xa282ead8.
        #expect(CRC32C.mask(0) == 0xa282_ead8)
        let crc: UInt32 = 0x8A91_36AA
        #expect(CRC32C.mask(crc) == ((crc >> 15 | crc << 17) &+ 0xa282_ead8))
    }
}
