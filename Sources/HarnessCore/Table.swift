/// A plain text table: a header row, aligned columns, numbers right-aligned.
public struct TextTable: Sendable {
    public enum Alignment: Sendable { case left, right }
    public var columns: [String]
    public var alignments: [Alignment]
    public var rows: [[String]] = []

    public init(_ columns: [String], alignments: [Alignment]? = nil) {
        self.columns = columns
        self.alignments = alignments ?? columns.indices.map { $0 == 0 ? .left : .right }
    }

    public mutating func add(_ row: [String]) {
        var r = row
        while r.count < columns.count { r.append("") }
        rows.append(Array(r.prefix(columns.count)))
    }

    public func render(indent: String = "") -> String {
        var widths = columns.map { $0.count }
        for row in rows {
            for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            var parts: [String] = []
            for (i, cell) in cells.enumerated() {
                let pad = String(repeating: " ", count: widths[i] - cell.count)
                parts.append(alignments[i] == .left ? cell + pad : pad + cell)
            }
            var s = indent + parts.joined(separator: "  ")
            while s.last == " " { s.removeLast() }
            return s
        }
        var out = [line(columns)]
        out.append(indent + widths.map { String(repeating: "-", count: $0) }.joined(separator: "  "))
        out += rows.map(line)
        return out.joined(separator: "\n") + "\n"
    }
}
