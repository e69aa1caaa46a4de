// The engine's only source of randomness, seeded by the caller. See DESIGN §2.

/// SplitMix64 (Steele, Lea and Flood, 2014): a tiny, fast generator with a 64-bit state.
///
/// The engine draws every random choice (SPOP, SRANDMEMBER, RANDOMKEY, HRANDFIELD, active-expiry
/// sampling) from one of these, seeded by the caller when the ``Keyspace`` is created, so a run is
/// reproducible from its seed. It is not cryptographic and needs not be.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }

    /// A value in `0..<bound` (bound > 0), without modulo bias.
    public mutating func next(below bound: UInt64) -> UInt64 {
        precondition(bound > 0, "next(below:) needs a positive bound")
        return next(upperBound: bound)
    }
}
