// `client-output-buffer-limit`: how much reply data a client may leave unread before the server
// drops it. See redis src/config.c (updateClientOutputBufferLimit, the CONFIG GET format),
// src/networking.c (checkClientOutputBufferLimits) and src/util.c (memtoull).

/// The output buffer limits per client class, Redis's `client-output-buffer-limit`.
///
/// A client whose unread replies reach its class's hard limit, or stay at or above the soft
/// limit for more than the soft seconds, is disconnected (0 disables a limit). Redis 7.0's
/// defaults: `normal 0 0 0`, `replica 256mb 64mb 60`, `pubsub 32mb 8mb 60`.
public struct ClientOutputBufferLimits: Sendable, Hashable {
    /// One class's limits.
    public struct Limit: Sendable, Hashable {
        public var hardByteCount: UInt64
        public var softByteCount: UInt64
        public var softSeconds: Int

        public init(hardByteCount: UInt64, softByteCount: UInt64, softSeconds: Int) {
            self.hardByteCount = hardByteCount
            self.softByteCount = softByteCount
            self.softSeconds = softSeconds
        }

        /// Both limits are 0: nothing to check.
        var isUnlimited: Bool { hardByteCount == 0 && softByteCount == 0 }
    }

    /// Redis's client classes for these limits (Redis `getClientType`): a client with any channel
    /// or pattern subscription is `pubsub`; Rewind has no replicas.
    public enum ClientClass: Int, Sendable, CaseIterable {
        case normal, replica, pubsub
    }

    public var normal = Limit(hardByteCount: 0, softByteCount: 0, softSeconds: 0)
    public var replica = Limit(hardByteCount: 256 << 20, softByteCount: 64 << 20, softSeconds: 60)
    public var pubsub = Limit(hardByteCount: 32 << 20, softByteCount: 8 << 20, softSeconds: 60)

    public init() {}

    public subscript(_ clientClass: ClientClass) -> Limit {
        get {
            switch clientClass {
            case .normal: return normal
            case .replica: return replica
            case .pubsub: return pubsub
            }
        }
        set {
            switch clientClass {
            case .normal: normal = newValue
            case .replica: replica = newValue
            case .pubsub: pubsub = newValue
            }
        }
    }

    /// CONFIG GET's text: `normal <hard> <soft> <seconds> slave ... pubsub ...`.
    public var configText: String {
        [("normal", normal), ("slave", replica), ("pubsub", pubsub)]
            .map { "\($0.0) \($0.1.hardByteCount) \($0.1.softByteCount) \($0.1.softSeconds)" }
            .joined(separator: " ")
    }

    /// Applies CONFIG SET's value: groups of `<class> <hard> <soft> <soft seconds>`, separated by
    /// single spaces; classes not named keep their limits. Every group is checked before any is
    /// applied. Returns Redis's message for a bad value (nothing is changed then), or nil.
    public mutating func update(from text: String) -> String? {
        // Redis splits on each single space (sdssplitlen): doubled spaces make empty arguments.
        let arguments = text.isEmpty ? [] : text.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        guard arguments.count % 4 == 0 else { return "Wrong number of arguments in buffer limit configuration." }
        var updated = self
        for start in stride(from: 0, to: arguments.count, by: 4) {
            let clientClass: ClientClass
            switch arguments[start].lowercased() {
            case "normal": clientClass = .normal
            case "slave", "replica": clientClass = .replica
            case "pubsub": clientClass = .pubsub
            default: return "Invalid client class specified in buffer limit configuration."
            }
            guard let hard = Self.memoryBytes(arguments[start + 1]), let soft = Self.memoryBytes(arguments[start + 2]),
                  let seconds = Self.softSeconds(arguments[start + 3])
            else { return "Error in hard, soft or soft_seconds setting in buffer limit configuration." }
            updated[clientClass] = Limit(hardByteCount: hard, softByteCount: soft, softSeconds: seconds)
        }
        self = updated
        return nil
    }

    /// Redis's `memtoull`: digits then an optional unit (b, k, kb, m, mb, g, gb, any case). As in
    /// Redis, an empty number is 0, a number past 2^64-1 saturates, and the unit's product wraps.
    static func memoryBytes(_ text: String) -> UInt64? {
        let bytes = Array(text.utf8)
        let digitCount = bytes.prefix { $0 >= 48 && $0 <= 57 }.count
        let multiplier: UInt64
        switch String(decoding: bytes[digitCount...], as: UTF8.self).lowercased() {
        case "", "b": multiplier = 1
        case "k": multiplier = 1000
        case "kb": multiplier = 1024
        case "m": multiplier = 1000 * 1000
        case "mb": multiplier = 1024 * 1024
        case "g": multiplier = 1000 * 1000 * 1000
        case "gb": multiplier = 1024 * 1024 * 1024
        default: return nil
        }
        guard digitCount < 128 else { return nil }
        var value: UInt64 = 0
        for digit in bytes[..<digitCount] {
            let (shifted, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = shifted.addingReportingOverflow(UInt64(digit - 48))
            if overflow1 || overflow2 {
                value = .max
                break
            }
            value = sum
        }
        return value &* multiplier
    }

    /// The soft seconds as Redis reads them: `strtoll` over the whole argument (an empty one is
    /// 0), stored in an `int`, refused when negative (so 2^31 is refused and 2^32 reads as 0).
    static func softSeconds(_ text: String) -> Int? {
        let bytes = Array(text.utf8)
        var index = 0
        while index < bytes.count, [9, 10, 11, 12, 13, 32].contains(bytes[index]) { index += 1 }
        var negative = false
        if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
            negative = bytes[index] == UInt8(ascii: "-")
            index += 1
        }
        let digitsStart = index
        var magnitude: UInt64 = 0
        var saturated = false
        while index < bytes.count, bytes[index] >= 48 && bytes[index] <= 57 {
            let (shifted, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = shifted.addingReportingOverflow(UInt64(bytes[index] - 48))
            if overflow1 || overflow2 { saturated = true } else { magnitude = sum }
            index += 1
        }
        if index == digitsStart {
            // No digits: strtoll consumed nothing, so only an empty argument is whole.
            return bytes.isEmpty ? 0 : nil
        }
        guard index == bytes.count else { return nil }
        let value: Int64
        if negative {
            value = saturated || magnitude > UInt64(Int64.max) + 1 ? .min : (magnitude == UInt64(Int64.max) + 1 ? .min : -Int64(magnitude))
        } else {
            value = saturated || magnitude > UInt64(Int64.max) ? .max : Int64(magnitude)
        }
        let stored = Int32(truncatingIfNeeded: value)
        return stored < 0 ? nil : Int(stored)
    }
}
