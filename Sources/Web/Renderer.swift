import Foundation
import Mustache

/// The templates, parsed once. They are compiled into the binary (``Templates``), so a deployment is one file.
struct Renderer: Sendable {
    let library: MustacheLibrary

    /// Every page test renders through this; a template that does not parse stops the process at its first
    /// page, which the tests catch before anyone else could.
    static let shared: Renderer = {
        do { return try Renderer(templates: Templates.all) } catch { fatalError("A page template does not parse: \(error)") }
    }()

    init(templates: [String: String]) throws {
        var library = MustacheLibrary()
        for (name, text) in templates { try library.register(text, named: name) }
        self.library = library
    }

    func render(_ name: String, _ values: [String: Any]) -> String {
        guard let html = library.render(values, withTemplate: name) else {
            preconditionFailure("No template is named \(name)")
        }
        return html
    }
}
