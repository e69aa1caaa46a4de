@testable import RewindLog
import Testing

@Suite("Well-known tokens")
struct WellKnownTokensTests {
    @Test("Every token is found under its own number, in both cases, and nothing else is")
    func lookup() {
        for (index, name) in WellKnownTokens.names.enumerated() {
            #expect(WellKnownTokens.number(of: Array(name.utf8)) == index * 2, "\(name)")
            #expect(WellKnownTokens.number(of: Array(name.lowercased().utf8)) == index * 2 + 1, "\(name)")
            let span = WellKnownTokens.span(index * 2)
            #expect(Array(UnsafeRawBufferPointer(start: span.base, count: span.byteCount)) == Array(name.utf8))
        }
        for other in ["Set", "SETS", "SE", "", "user:42", "ZADDX", "hsetnx ", "PFADDPFADDPFADDPFADD"] {
            #expect(WellKnownTokens.number(of: Array(other.utf8)) == nil, "\(other)")
        }
    }
}
