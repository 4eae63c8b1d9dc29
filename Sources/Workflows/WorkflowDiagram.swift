import Foundation

/// A definition drawn as SVG for pages that run no script (the admin page): states in columns by their
/// distance from the initial state, commands as labelled arrows; the current state filled, final states
/// with a double border. The Mermaid text (``WorkflowDefinition/mermaid``) is the same drawing for docs.
extension WorkflowDefinition {
    public func svg(highlighting current: String? = nil) -> String {
        let layout = DiagramLayout(self)
        var out = """
            <svg xmlns="http://www.w3.org/2000/svg" class="workflow-diagram" role="img" width="\(layout.width)" height="\(layout.height)" \
            viewBox="0 0 \(layout.width) \(layout.height)" font-family="system-ui, sans-serif" font-size="12">
            <title>\(Self.escape("\(name): states and commands"))</title>
            <defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">\
            <path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>

            """
        let start = layout.box(initial)
        out += "<circle cx=\"\(start.x - 22)\" cy=\"\(start.midY)\" r=\"6\" fill=\"#333\"/>"
        out +=
            "<line x1=\"\(start.x - 16)\" y1=\"\(start.midY)\" x2=\"\(start.x)\" y2=\"\(start.midY)\" stroke=\"#555\" marker-end=\"url(#arrow)\"/>\n"
        for edge in layout.edges { out += edge.svg + "\n" }
        for state in states {
            let box = layout.box(state)
            let isCurrent = state == current
            out +=
                "<g class=\"state\(isCurrent ? " current" : "")\"><rect x=\"\(box.x)\" y=\"\(box.y)\" width=\"\(box.width)\" "
                + "height=\"\(box.height)\" rx=\"8\" "
            out += "fill=\"\(isCurrent ? "#1d4ed8" : "#f8fafc")\" stroke=\"#334155\" stroke-width=\"\(final.contains(state) ? 3 : 1)\"/>"
            out +=
                "<text x=\"\(box.midX)\" y=\"\(box.midY + 4)\" text-anchor=\"middle\" fill=\"\(isCurrent ? "#fff" : "#0f172a")\">"
                + "\(Self.escape(state))</text></g>\n"
        }
        return out + "</svg>"
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}

/// Where each state's box and each arrow goes.
private struct DiagramLayout {
    struct Box {
        var x: Int, y: Int, width: Int, height: Int
        var midX: Int { x + width / 2 }
        var midY: Int { y + height / 2 }
    }

    struct Edge {
        var svg: String
    }

    static let boxHeight = 32, columnGap = 130, rowGap = 44, margin = 40, loopRoom = 34

    private var boxes: [String: Box] = [:]
    private(set) var edges: [Edge] = []
    private(set) var width = 0
    private(set) var height = 0

    init(_ definition: WorkflowDefinition) {
        // Columns: the fewest commands from the initial state (states nothing reaches go last).
        var column = [definition.initial: 0]
        var frontier = [definition.initial]
        while !frontier.isEmpty {
            var next: [String] = []
            for state in frontier {
                for transition in definition.transitions where transition.from.contains(state) {
                    let target = transition.target(from: state)
                    if column[target] == nil {
                        column[target] = column[state]! + 1
                        next.append(target)
                    }
                }
            }
            frontier = next
        }
        let lastColumn = (column.values.max() ?? 0) + (definition.states.contains { column[$0] == nil } ? 1 : 0)
        let boxWidth = max(90, (definition.states.map(\.count).max() ?? 0) * 8 + 24)
        var rows: [Int: Int] = [:]
        for state in definition.states {
            let c = column[state] ?? lastColumn
            let row = rows[c, default: 0]
            rows[c] = row + 1
            boxes[state] = Box(
                x: Self.margin + c * (boxWidth + Self.columnGap), y: Self.loopRoom + 10 + row * (Self.boxHeight + Self.rowGap),
                width: boxWidth, height: Self.boxHeight)
        }
        let tallest = rows.values.max() ?? 1
        width = Self.margin * 2 + (lastColumn + 1) * boxWidth + lastColumn * Self.columnGap
        let below = Self.loopRoom + 10 + tallest * (Self.boxHeight + Self.rowGap)

        // One arrow per pair of states, labelled with every command that takes it.
        var labels: [String: [String]] = [:]
        var pairs: [(String, String)] = []
        for transition in definition.transitions {
            for from in definition.states where transition.from.contains(from) {
                let to = transition.target(from: from)
                let key = from + "\u{0}" + to
                if labels[key] == nil { pairs.append((from, to)) }
                labels[key, default: []].append(transition.command)
            }
        }
        var backEdges = 0
        for (from, to) in pairs {
            let label = WorkflowDefinition.escape(labels[from + "\u{0}" + to]!.joined(separator: ", "))
            let a = boxes[from]!, b = boxes[to]!
            let stroke = "fill=\"none\" stroke=\"#555\" marker-end=\"url(#arrow)\""
            if from == to {
                let path = "M\(a.midX - 14),\(a.y) C\(a.midX - 24),\(a.y - 30) \(a.midX + 24),\(a.y - 30) \(a.midX + 14),\(a.y)"
                edges.append(
                    Edge(svg: "<path d=\"\(path)\" \(stroke)/><text x=\"\(a.midX)\" y=\"\(a.y - 26)\" text-anchor=\"middle\">\(label)</text>"))
            } else if b.x > a.x {
                let (x1, y1, x2, y2) = (a.x + a.width, a.midY, b.x, b.midY)
                edges.append(
                    Edge(
                        svg: """
                            <line x1="\(x1)" y1="\(y1)" x2="\(x2)" y2="\(y2)" \(stroke)/>\
                            <text x="\((x1 + x2) / 2)" y="\((y1 + y2) / 2 - 5)" text-anchor="middle">\(label)</text>
                            """))
            } else {
                // Backwards or within a column: a curve under the boxes, each one a little deeper.
                backEdges += 1
                let depth = below + backEdges * 18
                let path = "M\(a.midX),\(a.y + a.height) C\(a.midX),\(depth) \(b.midX),\(depth) \(b.midX),\(b.y + b.height)"
                edges.append(
                    Edge(
                        svg: """
                            <path d="\(path)" \(stroke)/><text x="\((a.midX + b.midX) / 2)" y="\(depth - 2)" text-anchor="middle">\(label)</text>
                            """))
            }
        }
        height = below + backEdges * 18 + 20
    }

    func box(_ state: String) -> Box { boxes[state]! }
}
