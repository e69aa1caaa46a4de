// Hashing, dense registers and the cardinality estimator of Redis 7.0's HyperLogLog
// (src/hyperloglog.c: MurmurHash64A, hllPatLen, HLL_DENSE_GET/SET_REGISTER, hllCount with Ertl's
// estimator, arXiv:1702.01284). Every step mirrors Redis's floating-point order of operations,
// because PFCOUNT must return the same integer, not merely a close one.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension HyperLogLog {
    /// MurmurHash64A (Austin Appleby) as Redis implements it, reading 8-byte blocks little-endian.
    ///
    /// Redis reads blocks in native order on little-endian machines and byte-swaps on big-endian
    /// ones, so little-endian is the portable definition.
    public static func murmurHash64A<Bytes: RandomAccessCollection>(_ bytes: Bytes, seed: UInt64) -> UInt64
    where Bytes.Element == UInt8, Bytes.Index == Int {
        let multiplier: UInt64 = 0xC6A4_A793_5BD1_E995
        let shift: UInt64 = 47
        let byteCount = bytes.count
        var hash = seed ^ (UInt64(truncatingIfNeeded: byteCount) &* multiplier)
        let blockEnd = bytes.startIndex + (byteCount - byteCount % 8)
        var offset = bytes.startIndex
        while offset < blockEnd {
            var block: UInt64 = 0
            for byteIndex in 0..<8 {
                block |= UInt64(bytes[offset + byteIndex]) << UInt64(8 * byteIndex)
            }
            block &*= multiplier
            block ^= block >> shift
            block &*= multiplier
            hash ^= block
            hash &*= multiplier
            offset += 8
        }
        let tailCount = byteCount % 8
        if tailCount > 0 {
            for byteIndex in stride(from: tailCount - 1, through: 0, by: -1) {
                hash ^= UInt64(bytes[offset + byteIndex]) << UInt64(8 * byteIndex)
            }
            hash &*= multiplier
        }
        hash ^= hash >> shift
        hash &*= multiplier
        hash ^= hash >> shift
        return hash
    }

    /// The register an element updates and the value it offers (Redis `hllPatLen`): the low 14
    /// hash bits pick the register, and the value is the position of the lowest set bit among the
    /// remaining 50, counting from 1, capped at 51 by a sentinel bit.
    static func hashPosition(of element: [UInt8]) -> (registerIndex: Int, runLength: UInt8) {
        var hash = murmurHash64A(element, seed: hashSeed)
        let registerIndex = Int(hash & UInt64(registerCount - 1))
        hash >>= UInt64(indexBitCount)
        hash |= UInt64(1) << UInt64(runBitCount)
        return (registerIndex, UInt8(hash.trailingZeroBitCount + 1))
    }

    // MARK: - Dense registers

    /// Reads a 6-bit register from a dense string. Registers are packed LSB first and may
    /// straddle two bytes; the byte after the last register does not exist, and reads as 0 as the
    /// sds terminator does in Redis.
    static func denseRegister(_ string: [UInt8], registerIndex: Int) -> UInt8 {
        let bitOffset = registerIndex * registerBitCount
        let byteOffset = headerByteCount + bitOffset / 8
        let bitShift = bitOffset & 7
        let low = UInt16(string[byteOffset])
        let high: UInt16 = byteOffset + 1 < string.count ? UInt16(string[byteOffset + 1]) : 0
        return UInt8(truncatingIfNeeded: ((low >> bitShift) | (high << (8 - bitShift))) & UInt16(registerValueMax))
    }

    /// Writes a 6-bit register into a dense string.
    static func setDenseRegister(_ string: inout [UInt8], registerIndex: Int, value: UInt8) {
        let bitOffset = registerIndex * registerBitCount
        let byteOffset = headerByteCount + bitOffset / 8
        let bitShift = bitOffset & 7
        let wide = UInt16(value & registerValueMax) << bitShift
        let mask = UInt16(registerValueMax) << bitShift
        string[byteOffset] = (string[byteOffset] & ~UInt8(truncatingIfNeeded: mask)) | UInt8(truncatingIfNeeded: wide)
        if byteOffset + 1 < string.count {
            let highMask = UInt8(truncatingIfNeeded: mask >> 8)
            string[byteOffset + 1] = (string[byteOffset + 1] & ~highMask) | UInt8(truncatingIfNeeded: wide >> 8)
        }
    }

    /// Sets a dense register when `value` is greater (Redis `hllDenseSet`).
    ///
    /// - Returns: true when the register changed.
    static func setDenseRegisterIfGreater(_ string: inout [UInt8], registerIndex: Int, value: UInt8) -> Bool {
        guard value > denseRegister(string, registerIndex: registerIndex) else { return false }
        setDenseRegister(&string, registerIndex: registerIndex, value: value)
        return true
    }

    // MARK: - Estimator

    /// Ertl's σ function, iterated until the double stops changing (Redis `hllSigma`).
    static func sigma(_ input: Double) -> Double {
        if input == 1 { return .infinity }
        var x = input
        var y = 1.0
        var z = x
        var previous: Double
        repeat {
            x *= x
            previous = z
            z += x * y
            y += y
        } while previous != z
        return z
    }

    /// Ertl's τ function (Redis `hllTau`). `pow(_, 2)` and `sqrt` come from libm, as in Redis,
    /// so the result is bit-identical.
    static func tau(_ input: Double) -> Double {
        if input == 0 || input == 1 { return 0 }
        var x = input
        var y = 1.0
        var z = 1 - x
        var previous: Double
        repeat {
            x = sqrt(x)
            previous = z
            y *= 0.5
            z -= pow(1 - x, 2) * y
        } while previous != z
        return z / 3
    }

    /// The cardinality estimate from a 64-bucket register histogram (Redis `hllCount`).
    ///
    /// Rounds half away from zero, as Redis's `llroundl` does.
    static func estimateCardinality(histogram: [Int]) -> UInt64 {
        let registers = Double(registerCount)
        var z = registers * tau((registers - Double(histogram[runBitCount + 1])) / registers)
        for value in stride(from: runBitCount, through: 1, by: -1) {
            z += Double(histogram[value])
            z *= 0.5
        }
        z += registers * sigma(Double(histogram[0]) / registers)
        let alphaInfinity = 0.721347520444481703680  // 0.5 / ln(2)
        let estimate = (alphaInfinity * registers * registers / z).rounded(.toNearestOrAwayFromZero)
        // The estimate is finite and at most a few times 2^64 for any histogram of 16384
        // registers, but a conversion must never trap, so clamp.
        guard estimate.isFinite, estimate >= 0 else { return 0 }
        return estimate >= 18_446_744_073_709_551_615.0 ? UInt64.max : UInt64(estimate)
    }
}
