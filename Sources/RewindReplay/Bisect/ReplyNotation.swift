// Replies in redis-cli's notation (what `redis-cli --no-raw` prints on a terminal), and in JSON,
// so `--expect` can be written as a person reads a reply. Checked against redis-cli 7.0.15 output
// in ReplyNotationTests.

import Foundation
import RewindRESP

/// Formats replies the way redis-cli prints them to a terminal, and compares expectations.
///
/// ```
/// "alice"            a bulk string
/// (integer) 3        an integer
/// (nil)              a null
/// (error) ERR ...    an error
/// OK                 a status reply
/// 1) "a"             an array, one element per line, nested arrays indented
/// 2) (integer) 2
/// (empty array)      an empty array
/// ```
///
/// Replies are first brought to RESP2, as redis-cli (RESP2 by default) receives them: a map is a
/// flat array, a double a bulk string, a boolean an integer.
public enum ReplyNotation {
    /// The reply as redis-cli prints it, lines separated by `\n`, without a final newline.
    public static func format(_ reply: RESPValue) -> String {
        format(resp2(reply), prefix: "")
    }

    private static func format(_ reply: RESPValue, prefix: String) -> String {
        switch reply {
        case .simpleString(let text): return text
        case .error(let text): return "(error) " + text
        case .integer(let number): return "(integer) \(number)"
        case .bulkString(let bytes): return ByteQuoting.quoted(bytes)
        case .null, .nullArray: return "(nil)"
        case .array(let elements):
            if elements.isEmpty { return "(empty array)" }
            let width = String(elements.count).count
            let childPrefix = prefix + String(repeating: " ", count: width + 2)
            var lines: [String] = []
            for (index, element) in elements.enumerated() {
                let number = String(index + 1)
                let label = String(repeating: " ", count: width - number.count) + number + ") "
                lines.append((index == 0 ? "" : prefix) + label + format(element, prefix: childPrefix))
            }
            return lines.joined(separator: "\n")
        default:
            return format(resp2(reply), prefix: prefix)
        }
    }

    /// The reply as a RESP2 client receives it.
    public static func resp2(_ reply: RESPValue) -> RESPValue {
        switch reply {
        case .simpleString, .error, .integer, .bulkString, .null, .nullArray: return reply
        case .array(let elements): return .array(elements.map(resp2))
        default:
            var bytes: [UInt8] = []
            RESPEncoder.encode(reply, version: .resp2, into: &bytes)
            var parser = RESPParser()
            parser.append(bytes)
            guard let value = try? parser.nextValue() else { return reply }
            return resp2(value)
        }
    }

    /// Text compared line by line with surrounding spaces removed and blank lines dropped, so an
    /// expectation may be indented or written with or without the trailing newline.
    public static func normalized(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
            .joined(separator: "\n")
    }

    // MARK: - JSON

    /// The reply as a JSON value: strings (invalid UTF-8 as `\xHH`), numbers, null, arrays, and
    /// `{"error": "ERR ..."}` for an error; a status reply is its text.
    public static func jsonObject(_ reply: RESPValue) -> Any {
        switch resp2(reply) {
        case .simpleString(let text): return text
        case .error(let text): return ["error": text]
        case .integer(let number): return NSNumber(value: number)
        case .bulkString(let bytes):
            return String(validating: bytes, as: UTF8.self)
                ?? bytes.withUnsafeBytes { EntryFormatting.escapingInvalidUTF8($0) }
        case .array(let elements): return elements.map(jsonObject)
        default: return NSNull()
        }
    }

    /// One-line JSON text of the reply.
    public static func jsonText(_ reply: RESPValue) -> String {
        let object = jsonObject(reply)
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.fragmentsAllowed, .sortedKeys]) else {
            return "null"
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// Parses JSON text (any value, not only objects); nil when it is not JSON.
    public static func parseJSON(_ text: String) -> Any? {
        try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
    }

    /// Whether two JSON values are equal (numbers by value, objects by keys).
    public static func jsonEqual(_ a: Any, _ b: Any) -> Bool {
        switch (a, b) {
        case (is NSNull, is NSNull): return true
        case (let x as String, let y as String): return x == y
        case (let x as NSNumber, let y as NSNumber): return x == y
        case (let x as [Any], let y as [Any]):
            return x.count == y.count && zip(x, y).allSatisfy { jsonEqual($0, $1) }
        case (let x as [String: Any], let y as [String: Any]):
            return x.count == y.count && x.allSatisfy { key, value in y[key].map { jsonEqual(value, $0) } ?? false }
        default: return false
        }
    }
}
