import Foundation
import Mustache
import PlazaKit

/// A form as the `form` partial draws it.
struct PageForm: Sendable {
    var action: String
    var submit: String
    var fields: [FormField]
    /// Drawn in the warning colour (deleting an account, disabling a user).
    var danger = false

    init(action: String, submit: String, fields: [FormField], danger: Bool = false) {
        self.action = action
        self.submit = submit
        self.fields = fields
        self.danger = danger
    }

    /// Puts each field error next to its field; returns the messages that belong to no field.
    mutating func attach(_ errors: [FieldError], language: Language) -> [String] {
        var unplaced: [String] = []
        for error in errors {
            let message = Catalogue.message(error.message, language)
            if let index = fields.firstIndex(where: { $0.name == error.field }) {
                fields[index].error = message
            } else {
                unplaced.append("\(error.field): \(message)")
            }
        }
        return unplaced
    }
}

/// One input. The template cannot call methods, so the kind of control is spelled out in stored flags.
struct FormField: Sendable {
    struct Option: Sendable {
        var value: String
        var label: String
        var selected: Bool
    }

    enum Kind: String, Sendable { case text, email, password, date, tel, hidden, textarea, select }

    var name: String
    var label: String
    var type: String
    var value: String
    var error: String?
    var autocomplete: String?
    var required: Bool
    var hint: String?
    var options: [Option]
    let isHidden: Bool
    let isSelect: Bool
    let isTextarea: Bool
    let isInput: Bool

    init(
        _ name: String, label: String, kind: Kind = .text, value: String? = nil, autocomplete: String? = nil,
        required: Bool = false, hint: String? = nil, options: [(value: String, label: String)] = []
    ) {
        self.name = name
        self.label = label
        self.type = kind.rawValue
        self.value = value ?? ""
        self.autocomplete = autocomplete
        self.required = required
        self.hint = hint
        self.options = options.map { Option(value: $0.value, label: $0.label, selected: $0.value == (value ?? "")) }
        isHidden = kind == .hidden
        isSelect = kind == .select
        isTextarea = kind == .textarea
        isInput = !(kind == .hidden || kind == .select || kind == .textarea)
    }
}

// Templates look values up by name. Without these, every lookup reflects the struct with `Mirror` — and a
// lookup that misses (most do, on their way up the context stack) reflects it again: that was the larger
// part of rendering a form page.
extension PageForm: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "action": return action
        case "submit": return submit
        case "fields": return fields
        case "danger": return danger
        default: return nil
        }
    }
}

extension FormField: MustacheParent {
    func child(named key: String) -> Any? {
        switch key {
        case "name": return name
        case "label": return label
        case "type": return type
        case "value": return value
        case "error": return error
        case "autocomplete": return autocomplete
        case "required": return required
        case "hint": return hint
        case "options": return options
        case "isHidden": return isHidden
        case "isSelect": return isSelect
        case "isTextarea": return isTextarea
        case "isInput": return isInput
        default: return nil
        }
    }
}

extension FormField.Option: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "value": return value
        case "label": return label
        case "selected": return selected
        default: return nil
        }
    }
}
