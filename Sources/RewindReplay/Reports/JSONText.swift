/// A tiny JSON writer for the one-object-per-line output of `rewind inspect --json` and
/// `rewind stats --json`: keys keep the order they are written in, so output is stable.
public struct JSONObject {
    private var fields: [String] = []

    public init() {}

    public mutating func add(_ key: String, _ value: Int) { fields.append(Self.quote(key) + ":" + String(value)) }
    public mutating func add(_ key: String, _ value: Int64) { fields.append(Self.quote(key) + ":" + String(value)) }
    public mutating func add(_ key: String, _ value: UInt64) { fields.append(Self.quote(key) + ":" + String(value)) }
    public mutating func add(_ key: String, _ value: UInt32) { fields.append(Self.quote(key) + ":" + String(value)) }
    public mutating func add(_ key: String, _ value: Double) {
        fields.append(Self.quote(key) + ":" + (value.isFinite ? String(value) : "null"))
    }
    public mutating func add(_ key: String, _ value: Bool) { fields.append(Self.quote(key) + ":" + (value ? "true" : "false")) }
    public mutating func add(_ key: String, _ value: String) { fields.append(Self.quote(key) + ":" + Self.quote(value)) }
    public mutating func add(_ key: String, strings: [String]) {
        fields.append(Self.quote(key) + ":[" + strings.map(Self.quote).joined(separator: ",") + "]")
    }
    public mutating func add(_ key: String, integers: [Int]) {
        fields.append(Self.quote(key) + ":[" + integers.map(String.init).joined(separator: ",") + "]")
    }
    public mutating func add(_ key: String, objects: [JSONObject]) {
        fields.append(Self.quote(key) + ":[" + objects.map(\.text).joined(separator: ",") + "]")
    }
    public mutating func add(_ key: String, object: JSONObject) { fields.append(Self.quote(key) + ":" + object.text) }
    public mutating func addNull(_ key: String) { fields.append(Self.quote(key) + ":null") }

    /// The object on one line.
    public var text: String { "{" + fields.joined(separator: ",") + "}" }

    /// A JSON string literal: `"` and `\` escaped, control characters as `\n`, `\t` or `\u00XX`.
    public static func quote(_ string: String) -> String {
        var result = "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                let hex = String(scalar.value, radix: 16)
                result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}
