/// `1 record`, `2 records`, `1 entry`, `0 entries`: counts in report lines read as English.
///
/// - Parameters:
///   - count: the number.
///   - singular: the noun for one.
///   - plural: the noun for other counts; the singular plus `s` (or `y` → `ies`) by default.
public func counted(_ count: some BinaryInteger, _ singular: String, _ plural: String? = nil) -> String {
    if count == 1 { return "1 \(singular)" }
    if let plural { return "\(count) \(plural)" }
    if singular.hasSuffix("y") { return "\(count) \(singular.dropLast())ies" }
    return "\(count) \(singular)s"
}
