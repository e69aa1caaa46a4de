// Glob-style matching exactly as Redis `stringmatchlen` (src/util.c) does it, quirks included.

/// Whether `string` matches the glob `pattern`: `*`, `?`, `[abc]`, `[^a-z]`, `\x`.
///
/// This follows Redis byte for byte, including its edges: bytes compare as C's signed `char` in
/// ranges, a range may be given backwards (`[z-a]`), an unterminated `[` matches what it has seen,
/// and nesting deeper than 1000 stars never matches (Redis's protection against abusive patterns).
func globMatches(pattern: [UInt8], string: [UInt8], ignoringCase: Bool = false) -> Bool {
    var skipLongerMatches = false
    return pattern.withUnsafeBufferPointer { patternBuffer in
        string.withUnsafeBufferPointer { stringBuffer in
            globMatch(patternBuffer, 0, stringBuffer, 0, ignoringCase, &skipLongerMatches, nesting: 0)
        }
    }
}

private func lowered(_ value: Int) -> Int {
    value >= 65 && value <= 90 ? value + 32 : value
}

private func globMatch(
    _ pattern: UnsafeBufferPointer<UInt8>, _ patternStart: Int,
    _ string: UnsafeBufferPointer<UInt8>, _ stringStart: Int,
    _ ignoringCase: Bool, _ skipLongerMatches: inout Bool, nesting: Int
) -> Bool {
    if nesting > 1000 { return false }
    // Reading one past the end yields 0, as the NUL terminator of a Redis sds string would.
    func p(_ index: Int) -> Int { index < pattern.count ? Int(Int8(bitPattern: pattern[index])) : 0 }
    func s(_ index: Int) -> Int { index < string.count ? Int(Int8(bitPattern: string[index])) : 0 }
    var pi = patternStart
    var si = stringStart
    while pi < pattern.count && si < string.count {
        switch p(pi) {
        case 42:  // '*'
            while pi < pattern.count && p(pi + 1) == 42 { pi += 1 }
            if pi == pattern.count - 1 { return true }
            while si < string.count {
                if globMatch(pattern, pi + 1, string, si, ignoringCase, &skipLongerMatches, nesting: nesting + 1) {
                    return true
                }
                if skipLongerMatches { return false }
                si += 1
            }
            skipLongerMatches = true
            return false
        case 63:  // '?'
            si += 1
        case 91:  // '['
            pi += 1
            let negated = p(pi) == 94
            if negated { pi += 1 }
            var matched = false
            while true {
                let remaining = pattern.count - pi
                if p(pi) == 92 && remaining >= 2 {
                    pi += 1
                    if p(pi) == s(si) { matched = true }
                } else if p(pi) == 93 {
                    break
                } else if remaining <= 0 {
                    pi -= 1
                    break
                } else if remaining >= 3 && p(pi + 1) == 45 {
                    var start = p(pi), end = p(pi + 2), byte = s(si)
                    if start > end { swap(&start, &end) }
                    if ignoringCase { start = lowered(start); end = lowered(end); byte = lowered(byte) }
                    pi += 2
                    if byte >= start && byte <= end { matched = true }
                } else if ignoringCase ? lowered(p(pi)) == lowered(s(si)) : p(pi) == s(si) {
                    matched = true
                }
                pi += 1
            }
            if negated { matched.toggle() }
            if !matched { return false }
            si += 1
        default:
            if p(pi) == 92 && pattern.count - pi >= 2 { pi += 1 }  // '\\' escapes the next byte
            let equal = ignoringCase ? lowered(p(pi)) == lowered(s(si)) : p(pi) == s(si)
            if !equal { return false }
            si += 1
        }
        pi += 1
        if si == string.count {
            while p(pi) == 42 && pi < pattern.count { pi += 1 }
            break
        }
    }
    return pi >= pattern.count && si == string.count
}
