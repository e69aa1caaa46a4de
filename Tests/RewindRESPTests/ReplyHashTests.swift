#if canImport(Glibc)
import Glibc
#endif
import RewindRESP
import RewindTestSupport
import Testing

/// XXH64 against libxxhash (the runtime library is installed; loaded with dlopen, so no header is
/// needed), and the reply hash's independence from the client's protocol.
@Suite("Reply hash (XXH64 over RESP2)")
struct ReplyHashTests {
    typealias XXH64Function = @convention(c) (UnsafeRawPointer?, Int, UInt64) -> UInt64

    static let reference: XXH64Function? = {
        for name in ["libxxhash.so.0", "libxxhash.so"] {
            if let handle = dlopen(name, RTLD_NOW), let symbol = dlsym(handle, "XXH64") {
                return unsafeBitCast(symbol, to: XXH64Function.self)
            }
        }
        return nil
    }()

    @Test("Known answers of the xxHash specification")
    func knownAnswers() {
        #expect([UInt8]().withUnsafeBytes { ReplyHash.xxh64($0) } == 0xEF46_DB37_51D8_E999)
        #expect(Array("a".utf8).withUnsafeBytes { ReplyHash.xxh64($0) } == 0xD24E_C4F1_A98C_6E5B)
        #expect(Array("abc".utf8).withUnsafeBytes { ReplyHash.xxh64($0) } == 0x44BC_2CF5_AD77_0999)
    }

    @Test("Equal to libxxhash's XXH64 for every length 0-300 and random seeds", .enabled(if: reference != nil))
    func matchesLibrary() throws {
        let xxh64 = try #require(Self.reference)
        var generator = SeededGenerator(seed: 0x4848)
        for length in Array(0...300) + [1000, 4096, 65_537] {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let seed = length % 3 == 0 ? 0 : UInt64.random(in: 0...UInt64.max, using: &generator)
            let ours = bytes.withUnsafeBytes { ReplyHash.xxh64($0, seed: seed) }
            let theirs = bytes.withUnsafeBytes { xxh64($0.baseAddress, $0.count, seed) }
            #expect(ours == theirs, "length \(length)")
        }
    }

    @Test("A reply hashes as its RESP2 encoding, so RESP3-only shapes hash as RESP2 shows them")
    func resp2Encoding() {
        func hashOfBytes(_ text: String) -> UInt64 { Array(text.utf8).withUnsafeBytes { ReplyHash.xxh64($0) } }
        #expect(ReplyHash.of(.simpleString("OK")) == hashOfBytes("+OK\r\n"))
        #expect(ReplyHash.of(.integer(42)) == hashOfBytes(":42\r\n"))
        #expect(ReplyHash.of(.null) == hashOfBytes("$-1\r\n"))
        #expect(ReplyHash.of(.map([RESPPair(.bulkString(Array("f".utf8)), .bulkString(Array("v".utf8)))]))
            == ReplyHash.of(.array([.bulkString(Array("f".utf8)), .bulkString(Array("v".utf8))])))
        #expect(ReplyHash.of(.integer(1)) != ReplyHash.of(.integer(2)))
        #expect(ReplyHash.of(.bulkString(Array("1".utf8))) != ReplyHash.of(.integer(1)))
    }
}
