// A saved bisect session, as git keeps BISECT_LOG: the arguments and each verdict, in order.

import Foundation

/// The text file `rewind bisect log` prints and `rewind bisect replay` reads:
///
/// ```
/// # rewind bisect session; run it again with: rewind bisect replay FILE
/// args ["orders.rwlog","--run","./check.sh"]
/// good #0
/// bad #5000000
/// good #2500000
/// skip #3750000
/// # first bad: #3749998
/// ```
///
/// `args` holds the arguments after `rewind bisect` as a JSON array; each verdict line names a
/// point (`#0` is the empty state). Lines starting with `#` are comments.
public struct BisectSession: Sendable {
    public var arguments: [String]
    public var steps: [BisectStep]
    public var firstBad: UInt64?

    public init(arguments: [String], steps: [BisectStep], firstBad: UInt64?) {
        self.arguments = arguments
        self.steps = steps
        self.firstBad = firstBad
    }

    public var text: String {
        var lines = ["# rewind bisect session; run it again with: rewind bisect replay FILE"]
        lines.append("args " + JSONObject.quoteArray(arguments))
        for step in steps { lines.append("\(step.verdict.rawValue) #\(step.sequence)") }
        lines.append(firstBad.map { "# first bad: #\($0)" } ?? "# no single first bad entry")
        return lines.joined(separator: "\n") + "\n"
    }

    public func write(to path: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    /// Reads a session file.
    ///
    /// - Throws: ``BisectError`` with `.badSession` naming the line that cannot be read.
    public static func read(from path: String) throws -> BisectSession {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw BisectError(.badSession, "cannot read the session file \(path)")
        }
        var session = BisectSession(arguments: [], steps: [], firstBad: nil)
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            if trimmed.hasPrefix("args ") {
                guard let array = ReplyNotation.parseJSON(String(trimmed.dropFirst(5))) as? [Any],
                      let strings = array as? [String] else {
                    throw BisectError(.badSession, "\(path) line \(number + 1): args must be a JSON array of strings")
                }
                session.arguments = strings
                continue
            }
            let parts = trimmed.split(separator: " ")
            guard parts.count == 2, let verdict = Verdict(rawValue: String(parts[0])), parts[1].hasPrefix("#"),
                  let sequence = UInt64(parts[1].dropFirst()) else {
                throw BisectError(.badSession, "\(path) line \(number + 1): expected 'good #SEQ', 'bad #SEQ' or 'skip #SEQ', found '\(trimmed)'")
            }
            session.steps.append(BisectStep(sequence: sequence, verdict: verdict, replayed: true))
        }
        return session
    }
}

extension JSONObject {
    /// A JSON array of strings on one line.
    static func quoteArray(_ strings: [String]) -> String {
        "[" + strings.map(quote).joined(separator: ",") + "]"
    }
}
