import RewindRESP
import Testing

/// Checks on the limits' values and how they relate, which Swift cannot check at compile time.
@Suite("RESP limits")
struct LimitsTests {
    @Test("Defaults are Redis 7.0's")
    func defaultsAreRedis() {
        let limits = RESPLimits.redis
        #expect(limits.bulkByteCountMax == 536_870_912)  // proto-max-bulk-len: CONFIG GET proto-max-bulk-len
        #expect(limits.multibulkCountMax == 2_147_483_647)  // INT_MAX: *2147483648 is refused, *1048577 waits
        #expect(limits.lineByteCountMax == 65_536)  // PROTO_INLINE_MAX_SIZE: 65,536 bytes wait, 65,537 fail
        #expect(limits.aggregateDepthMax == 100)  // valkey-swift's bound
        #expect(limits == RESPLimits())
    }

    @Test("Limits relate sensibly")
    func relations() {
        let limits = RESPLimits.redis
        // A length line ("$" + digits) always fits in a line, so bulk lengths are never cut off early.
        #expect(String(limits.bulkByteCountMax).count + 1 < limits.lineByteCountMax)
        #expect(String(limits.multibulkCountMax).count + 1 < limits.lineByteCountMax)
        // Counts must fit Int32 like Redis's argc, and the line limit must be far below the bulk limit.
        #expect(limits.multibulkCountMax <= Int(Int32.max))
        #expect(limits.lineByteCountMax < limits.bulkByteCountMax)
        #expect(limits.aggregateDepthMax > 0)
    }
}
