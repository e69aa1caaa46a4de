// Reports are data first, then rendered (STYLE §1.5, DESIGN §7): oldest first, the decisive
// line last, each line a place you can go to.

/// A diagnostic report: a headline, lines that each name a place in the log (oldest first, the
/// decisive one last), and closing lines.
///
/// Render it with ``ReportFormat/text`` (traceback style) or ``ReportFormat/json``:
///
/// ```
/// History of "user:42" in db 0, oldest first (3 of 48213 entries read):
///   #10021  seg 1 @20312     2026-11-26T10:15:03.120Z  HSET "user:42" "name" "alice"
///           = hash {"name": "alice"}
///   #48213  seg 3 @1048120   2026-11-26T10:15:09.004Z  HDEL "user:42" "name"   <- last change
///           = (nil)
/// ```
public struct Report: Sendable {
    /// One entry of the log with what the report says about it.
    public struct Line: Sendable {
        public var place: EntryPlace
        /// The command, quoted as `rewind inspect` quotes it.
        public var command: String
        /// Indented lines under the entry (a value after it, a reply).
        public var details: [String]
        /// A short arrow note on the decisive line (`<- last change`).
        public var marker: String?

        public init(place: EntryPlace, command: String, details: [String] = [], marker: String? = nil) {
            self.place = place
            self.command = command
            self.details = details
            self.marker = marker
        }
    }

    /// What the report is (`blame`, `check`), the `kind` field of its JSON.
    public var kind: String
    /// The first line.
    public var headline: String
    public var lines: [Line]
    /// Lines after the entries: the conclusion.
    public var footer: [String]
    /// Extra typed fields for the JSON form, already encoded (`"key": "user:42"`).
    public var fields: [(String, JSONValue)]

    public init(kind: String, headline: String, lines: [Line] = [], footer: [String] = [], fields: [(String, JSONValue)] = []) {
        self.kind = kind
        self.headline = headline
        self.lines = lines
        self.footer = footer
        self.fields = fields
    }

    /// The report in `format`.
    public func rendered(_ format: ReportFormat) -> String {
        switch format {
        case .text: return textRendering()
        case .json: return jsonRendering()
        }
    }
}

/// A JSON value for a report's typed fields.
public enum JSONValue: Sendable {
    case string(String)
    case integer(Int64)
    case null
    case strings([String])
    case double(Double)
}

/// How a ``Report`` is rendered.
public enum ReportFormat: String, Sendable, CaseIterable {
    /// Traceback style, for people.
    case text
    /// One JSON object on one line, for programs.
    case json
}

/// The shared column layout of lines that start with a place.
enum ReportLine {
    /// `#10021  seg 1 @20312     ` with widths that keep short logs aligned.
    static func placeColumns(_ place: EntryPlace) -> String {
        pad("#\(place.sequence)", 7) + "  seg \(place.segmentIndex + 1) " + pad("@\(place.byteOffset)", 10) + "  "
    }

    static func placeJSON(_ place: EntryPlace) -> JSONObject {
        var object = JSONObject()
        object.add("seq", place.sequence)
        object.add("segment", place.segmentIndex + 1)
        object.add("segment_file", place.segmentFileName)
        object.add("byte_offset", place.byteOffset)
        object.add("time", EntryFormatting.isoTime(milliseconds: place.timestampMilliseconds))
        object.add("db", place.db)
        return object
    }

    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }
}

extension Report {
    func textRendering() -> String {
        var output = [headline]
        for line in lines {
            let head = "  " + ReportLine.placeColumns(line.place) + EntryFormatting.isoTime(milliseconds: line.place.timestampMilliseconds)
                + "  " + line.command
            output.append(line.marker.map { head + "   <- " + $0 } ?? head)
            for detail in line.details { output.append("          " + detail) }
        }
        output += footer
        return output.joined(separator: "\n")
    }

    func jsonRendering() -> String {
        var object = JSONObject()
        object.add("kind", kind)
        object.add("headline", headline)
        for (name, value) in fields {
            switch value {
            case .string(let text): object.add(name, text)
            case .integer(let number): object.add(name, number)
            case .null: object.addNull(name)
            case .strings(let texts): object.add(name, strings: texts)
            case .double(let number): object.add(name, number)
            }
        }
        object.add("lines", objects: lines.map { line in
            var item = ReportLine.placeJSON(line.place)
            item.add("command", line.command)
            item.add("details", strings: line.details)
            if let marker = line.marker { item.add("marker", marker) } else { item.addNull("marker") }
            return item
        })
        object.add("footer", strings: footer)
        return object.text
    }
}
