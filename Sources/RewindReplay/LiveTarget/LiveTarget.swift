// Where `rewind replay --target` sends entries, and how a Redis Cluster routes a key.
// See docs/CLI.md (`rewind replay --target`) and docs/COMPACTION.md ("Live targets").

/// A Redis-compatible server named by `redis://[user:pass@]host:port[/db]`.
public struct LiveTarget: Hashable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var user: String?
    public var password: String?
    /// With `/db`, every entry goes to this database (the log must use only one).
    public var database: Int?

    public init(host: String, port: Int, user: String? = nil, password: String? = nil, database: Int? = nil) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
    }

    /// Parses `redis://[user:pass@]host:port[/db]` (`redis://:pass@host:port` for a password alone).
    ///
    /// - Throws: ``LiveReplayError`` `.badTarget` naming what is wrong.
    public init(url: String) throws {
        func bad(_ why: String) -> LiveReplayError {
            LiveReplayError(.badTarget, "--target \(url): \(why); pass redis://[user:pass@]host:port[/db]")
        }
        guard url.hasPrefix("redis://") else { throw bad("only redis:// targets are supported") }
        var rest = Substring(url.dropFirst("redis://".count))
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                let name = String(credentials[..<colon])
                user = name.isEmpty ? nil : Self.percentDecoded(name)
                password = Self.percentDecoded(String(credentials[credentials.index(after: colon)...]))
            } else {
                password = Self.percentDecoded(String(credentials))
            }
        }
        if let slash = rest.firstIndex(of: "/") {
            let text = rest[rest.index(after: slash)...]
            if !text.isEmpty {
                guard let number = Int(text), (0...15).contains(number) else { throw bad("the database '\(text)' is not 0-15") }
                database = number
            }
            rest = rest[..<slash]
        }
        guard let colon = rest.lastIndex(of: ":"), let number = Int(rest[rest.index(after: colon)...]), (1...65535).contains(number) else {
            throw bad("no port")
        }
        port = number
        host = String(rest[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        guard !host.isEmpty else { throw bad("no host") }
    }

    private static func percentDecoded(_ text: String) -> String { text.removingPercentEncoding ?? text }

    /// `host:port` (credentials are never printed).
    public var description: String { "\(host):\(port)" + (database.map { "/\($0)" } ?? "") }
}

/// Redis Cluster's key to slot mapping: CRC16 (XMODEM) of the key, or of its hash tag (the bytes
/// between the first `{` and the next `}`, when not empty), modulo 16384.
public enum HashSlot {
    public static let count = 16384

    public static func slot(of key: some Collection<UInt8>) -> Int {
        let bytes = Array(key)
        if let open = bytes.firstIndex(of: UInt8(ascii: "{")),
           let close = bytes[(open + 1)...].firstIndex(of: UInt8(ascii: "}")), close > open + 1 {
            return Int(crc16(bytes[(open + 1)..<close]) % UInt16(count))
        }
        return Int(crc16(bytes[...]) % UInt16(count))
    }

    /// CRC16-CCITT (XMODEM): polynomial 0x1021, initial value 0, no reflection.
    static func crc16(_ bytes: ArraySlice<UInt8>) -> UInt16 {
        var crc: UInt16 = 0
        for byte in bytes {
            crc ^= UInt16(byte) << 8
            for _ in 0..<8 { crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x1021 : crc << 1 }
        }
        return crc
    }
}

/// Why a live replay could not start or had to stop.
public struct LiveReplayError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        /// The target URL is malformed.
        public static let badTarget = Code("bad target")
        /// The target cannot be reached, refused AUTH, or is not a cluster when --cluster says so.
        public static let unreachable = Code("unreachable")
        public var description: String { name }
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}

import Foundation
