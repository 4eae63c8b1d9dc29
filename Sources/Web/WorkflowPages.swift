import Foundation
import Hummingbird
import PlazaKit
import Workflows

/// `/admin/workflows`: operators find instances (by definition, state, failure, idleness), read one's
/// history with its diagram, retry or reset a failed activity and cancel an instance. The same engine
/// calls and policy action as `/api/v1/workflows`.
struct WorkflowPages<Context: PlazaRequestContext>: Sendable {
    let pages: Pages

    var table: RouteTable<Context> {
        var routes = PageRoutes<Context>(pages: pages)
        let engine = pages.workflows
        let operate = Access.action(WorkflowPolicy.operate)

        routes.add(.get, "/admin/workflows", "workflowsPage", "Workflow instances, filtered.", access: operate) { request, context, scope in
            let query = request.queryItems
            var data: [String: Any] = [:]
            var status = HTTPResponse.Status.ok
            do {
                // The filter form sends its empty fields: those filter nothing.
                let filter = try WorkflowQuery(query: query.filter { !$0.value.isEmpty })
                let page = try await engine.instances(filter, page: try PageRequest(query: query), caller: context.caller)
                data["items"] = page.items.map { Self.row($0, scope) }
                if let next = PageScope.nextPage("/admin/workflows", query: query, cursor: page.nextCursor) { data["next"] = next }
            } catch let error as PlazaError where error.status == .unprocessableContent {
                data["items"] = [[String: Any]]()
                data["problem"] = scope.t("error_validation")
                data["problems"] = scope.problems(error)
                status = error.status
            }
            data["definitions"] =
                [["value": "", "label": scope.t("any")]]
                + engine.definitionNames.map { name -> [String: Any] in
                    ["value": name, "label": name, "selected": query["definition"] == name]
                }
            data["failedOptions"] = [("", "any"), ("true", "workflow_failed_only"), ("false", "workflow_healthy_only")].map {
                value, key -> [String: Any] in
                ["value": value, "label": scope.t(key), "selected": (query["failed"] ?? "") == value]
            }
            data["state"] = query["state"] ?? ""
            data["idleMinutes"] = query["idleMinutes"] ?? ""
            return scope.render("workflows", data, status: status)
        }
        routes.add(.get, "/admin/workflows/{id}", "workflowPage", "One instance: diagram, history, activities.", access: operate) {
            _, context, scope in
            scope.render("workflow", try await Self.detail(try context.uuidParameter("id"), engine, context.caller, scope))
        }
        routes.add(.post, "/admin/workflows/{id}/cancel", "workflowCancelForm", "Cancel an instance.", access: operate) { request, context, scope in
            let form = try await scope.form(request, context)
            let id = try context.uuidParameter("id")
            do {
                try await engine.cancel(id, reason: form["reason"] ?? "", caller: context.caller)
                return scope.redirect("/admin/workflows/\(id)?notice=workflow-cancelled")
            } catch let error as PlazaError where error.status == .unprocessableContent || error.status == .conflict {
                var data = try await Self.detail(id, engine, context.caller, scope)
                data["problem"] = error.status == .conflict ? (error.detail ?? error.title) : scope.t("error_validation")
                data["problems"] = scope.problems(error).filter { _ in error.status != .conflict }
                data["reason"] = form["reason"] ?? ""
                return scope.render("workflow", data, status: error.status)
            }
        }
        for (verb, notice) in [("retry", "activity-retried"), ("reset", "activity-reset")] {
            let summary = verb == "retry" ? "Give a failed activity one more attempt." : "Give a failed activity a fresh set of attempts."
            routes.add(.post, "/admin/workflows/activities/{id}/\(verb)", "workflowActivity\(verb.capitalized)Form", summary, access: operate) {
                request, context, scope in
                _ = try await scope.form(request, context)
                let id = try context.uuidParameter("id")
                let activity =
                    verb == "retry"
                    ? try await engine.retryActivity(id, caller: context.caller) : try await engine.resetActivity(id, caller: context.caller)
                return scope.redirect("/admin/workflows/\(activity.instanceId)?notice=\(notice)")
            }
        }
        return routes.table
    }

    static func row(_ instance: WorkflowInstance, _ scope: PageScope) -> [String: Any] {
        [
            "id": instance.id.uuidString.lowercased(), "definition": instance.definition, "state": instance.state, "version": instance.version,
            "subject": instance.subject ?? "", "failure": instance.failure ?? "", "cancelled": instance.cancelledAt != nil,
            "created": Formats.dateTime(instance.createdAt, scope.language), "updated": Formats.dateTime(instance.updatedAt, scope.language),
            "parentId": instance.parentId?.uuidString.lowercased() ?? "",
        ]
    }

    static func detail(_ id: UUID, _ engine: WorkflowEngine, _ caller: Caller, _ scope: PageScope) async throws -> [String: Any] {
        let detail = try await engine.detail(id, caller: caller)
        let instance = detail.instance
        return [
            "instance": row(instance, scope),
            "allowed": instance.allowedCommands.joined(separator: ", "),
            "cancellable": instance.cancelledAt == nil,
            "cancelledAt": instance.cancelledAt.map { Formats.dateTime($0, scope.language) } ?? "",
            // Drawn by the engine from the definition; every label in it is escaped there.
            "diagram": engine.definition(instance.definition)?.svg(highlighting: instance.state) ?? "",
            "history": detail.history.map { step -> [String: Any] in
                [
                    "version": step.version, "when": Formats.dateTime(step.at, scope.language), "actor": step.actorId?.uuidString.lowercased() ?? "",
                    "from": step.from ?? "", "to": step.to, "command": step.command, "comment": step.comment ?? "",
                    "payload": step.payload.flatMap { try? String(decoding: PlazaJSON.encoder().encode($0), as: UTF8.self) } ?? "",
                ]
            },
            "activities": detail.activities.map { activity -> [String: Any] in
                [
                    "id": activity.id.uuidString.lowercased(), "name": activity.name, "version": activity.version,
                    "status": scope.t("activity_\(activity.status.rawValue)"), "statusClass": activity.status.rawValue,
                    "attempts": "\(activity.attempts)/\(activity.maxAttempts)", "error": activity.lastError ?? "",
                    "next": activity.nextAttemptAt.map { Formats.dateTime($0, scope.language) } ?? "",
                    "failed": activity.status == .failed && instance.cancelledAt == nil,
                ]
            },
        ]
    }
}

extension Templates {
    static let workflows: [String: String] = [
        "workflows": """
        {{<layout}}{{$title}}{{t.nav_workflows}}{{/title}}{{$content}}
        <h1>{{t.nav_workflows}}</h1>
        <form method="get" action="/admin/workflows" class="filters">
        <label><span>{{t.workflow_definition}}</span><select name="definition">{{#definitions}}<option \
        value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/definitions}}</select></label>
        <label><span>{{t.workflow_state}}</span><input name="state" value="{{state}}"></label>
        <label><span>{{t.workflow_failure}}</span><select name="failed">{{#failedOptions}}<option value="{{value}}"{{#selected}} \
        selected{{/selected}}>{{label}}</option>{{/failedOptions}}</select></label>
        <label><span>{{t.workflow_idle_minutes}}</span><input name="idleMinutes" value="{{idleMinutes}}" inputmode="numeric"></label>
        <button type="submit">{{t.search}}</button>
        </form>
        <table>
        <thead><tr><th>{{t.created}}</th><th>{{t.workflow_definition}}</th><th>{{t.workflow_state}}</th><th>\
        {{t.workflow_subject}}</th><th>{{t.workflow_updated}}</th><th>{{t.workflow_failure}}</th></tr></thead>
        <tbody>
        {{#items}}<tr{{#failure}} class="state-failed"{{/failure}}><td><a href="/admin/workflows/{{id}}">{{created}}</a></td><td>{{definition}}</td>
        <td>{{state}}{{#cancelled}} ({{t.workflow_cancelled}}){{/cancelled}}</td><td>{{subject}}</td><td>{{updated}}</td><td>\
        {{failure}}</td></tr>{{/items}}
        {{^items}}<tr><td colspan="6">{{t.nothing_found}}</td></tr>{{/items}}
        </tbody>
        </table>
        {{#next}}<p><a href="{{next}}" rel="next">{{t.next_page}}</a></p>{{/next}}
        {{/content}}{{/layout}}
        """,
        "workflow": """
        {{<layout}}{{$title}}{{t.workflow}}{{/title}}{{$content}}
        <p><a href="/admin/workflows">{{t.nav_workflows}}</a></p>
        {{#instance}}
        <h1>{{definition}} · {{state}}</h1>
        <dl>
        <dt>{{t.workflow_subject}}</dt><dd>{{subject}}</dd><dt>{{t.workflow_version}}</dt><dd>{{version}}</dd>
        <dt>{{t.created}}</dt><dd>{{created}}</dd><dt>{{t.workflow_updated}}</dt><dd>{{updated}}</dd>
        {{#parentId}}<dt>{{t.workflow_parent}}</dt><dd><a href="/admin/workflows/{{parentId}}">{{parentId}}</a></dd>{{/parentId}}
        {{#failure}}<dt>{{t.workflow_failure}}</dt><dd class="error">{{failure}}</dd>{{/failure}}
        {{/instance}}
        <dt>{{t.workflow_allowed}}</dt><dd>{{allowed}}</dd>
        {{#cancelledAt}}<dt>{{t.workflow_cancelled}}</dt><dd>{{cancelledAt}}</dd>{{/cancelledAt}}
        </dl>
        <figure class="diagram">{{{diagram}}}</figure>
        <h2>{{t.workflow_activities}}</h2>
        <table>
        <thead><tr><th>{{t.workflow_activity}}</th><th>{{t.status}}</th><th>{{t.attempts}}</th><th>{{t.next_attempt}}</th><th>\
        {{t.last_error}}</th></tr></thead>
        <tbody>
        {{#activities}}<tr class="state-{{statusClass}}"><td>{{name}}</td><td>{{status}}</td><td>{{attempts}}</td><td>{{next}}</td>
        <td>{{error}}{{#failed}}
        <form method="post" action="/admin/workflows/activities/{{id}}/retry" class="inline"><input type="hidden" name="_csrf" \
        value="{{csrf}}"><button class="small">{{t.retry}}</button></form>
        <form method="post" action="/admin/workflows/activities/{{id}}/reset" class="inline"><input type="hidden" name="_csrf" \
        value="{{csrf}}"><button class="small">{{t.workflow_reset}}</button></form>{{/failed}}</td></tr>{{/activities}}
        {{^activities}}<tr><td colspan="5">{{t.nothing_found}}</td></tr>{{/activities}}
        </tbody>
        </table>
        <h2>{{t.workflow_history}}</h2>
        <table>
        <thead><tr><th>#</th><th>{{t.workflow_when}}</th><th>{{t.workflow_command}}</th><th>{{t.workflow_from}}</th><th>\
        {{t.workflow_to}}</th><th>{{t.workflow_actor}}</th><th>{{t.workflow_comment}}</th></tr></thead>
        <tbody>
        {{#history}}<tr><td>{{version}}</td><td>{{when}}</td><td><code>{{command}}</code></td><td>{{from}}</td><td>{{to}}</td><td>\
        <small>{{actor}}</small></td>
        <td>{{comment}}{{#payload}}<br><small><code>{{payload}}</code></small>{{/payload}}</td></tr>{{/history}}
        </tbody>
        </table>
        {{#cancellable}}
        <h2>{{t.workflow_cancel}}</h2>
        <form method="post" action="/admin/workflows/{{instance.id}}/cancel" class="stack">
        <input type="hidden" name="_csrf" value="{{csrf}}">
        <label for="reason">{{t.workflow_reason}}</label>
        <textarea id="reason" name="reason" required maxlength="500">{{reason}}</textarea>
        <button class="danger">{{t.workflow_cancel}}</button>
        </form>
        {{/cancellable}}
        {{/content}}{{/layout}}
        """,
    ]
}

extension Catalogue {
    static let workflowsEn: [String: String] = [
        "nav_workflows": "Workflows", "workflow": "Workflow", "workflow_definition": "Definition", "workflow_state": "State",
        "workflow_failure": "Failure", "workflow_failed_only": "Failed only", "workflow_healthy_only": "Without failure",
        "workflow_idle_minutes": "Idle for minutes", "workflow_subject": "Subject", "workflow_updated": "Last moved",
        "workflow_cancelled": "cancelled", "workflow_version": "Version", "workflow_parent": "Started under",
        "workflow_allowed": "Commands it takes", "workflow_activities": "Activities", "workflow_activity": "Activity",
        "workflow_reset": "Reset", "workflow_history": "History", "workflow_when": "When", "workflow_command": "Command",
        "workflow_from": "From", "workflow_to": "To", "workflow_actor": "Who", "workflow_comment": "Comment",
        "workflow_cancel": "Cancel this instance", "workflow_reason": "Reason (kept in the history)",
        "activity_scheduled": "Scheduled", "activity_succeeded": "Succeeded", "activity_failed": "Failed",
        "activity_cancelled": "Cancelled",
        "notice_workflow-cancelled": "The instance is cancelled.", "notice_activity-retried": "The activity will be tried once more.",
        "notice_activity-reset": "The activity starts again with a fresh set of attempts.",
    ]

    static let workflowsUk: [String: String] = [
        "nav_workflows": "Процеси", "workflow": "Процес", "workflow_definition": "Визначення", "workflow_state": "Стан",
        "workflow_failure": "Збій", "workflow_failed_only": "Лише зі збоєм", "workflow_healthy_only": "Без збою",
        "workflow_idle_minutes": "Без руху, хвилин", "workflow_subject": "Предмет", "workflow_updated": "Востаннє змінено",
        "workflow_cancelled": "скасовано", "workflow_version": "Версія", "workflow_parent": "Запущено в межах",
        "workflow_allowed": "Команди, які приймає", "workflow_activities": "Дії", "workflow_activity": "Дія",
        "workflow_reset": "Почати знову", "workflow_history": "Історія", "workflow_when": "Коли", "workflow_command": "Команда",
        "workflow_from": "З", "workflow_to": "До", "workflow_actor": "Хто", "workflow_comment": "Коментар",
        "workflow_cancel": "Скасувати цей процес", "workflow_reason": "Причина (залишиться в історії)",
        "activity_scheduled": "Заплановано", "activity_succeeded": "Виконано", "activity_failed": "Збій",
        "activity_cancelled": "Скасовано",
        "notice_workflow-cancelled": "Процес скасовано.", "notice_activity-retried": "Дію буде виконано ще раз.",
        "notice_activity-reset": "Дія починається знову з новим запасом спроб.",
    ]
}
