"""The schemathesis phase's driver (scripts/schemathesis.sh starts and stops the servers; this does the rest).

  python run.py role BASE_URL ROLE OUT_DIR   sign in as ROLE (or stay anonymous), run schemathesis on every operation
                                             of BASE_URL/openapi.json but those of excluded.txt, and write what it
                                             found to OUT_DIR (summary.json, failures.txt, schemathesis.log, reports)
  python run.py table OUT_DIR ROLE...        print one row per role (operations, test cases, failures, time) and
                                             every failure allowed-failures.txt does not list; exit 1 if any
  python run.py summarise BASE_URL ROLE OUT_DIR   read a kept OUT_DIR's events.ndjson again (after changing this file)

Demo accounts are `<role>@demo.plaza.test` / `plaza-demo` (Sources/Identity/IdentityDemo.swift); a role signs in
with POST /api/v1/auth/login, which answers a bearer access token.
"""
import base64
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
DEMO_PASSWORD = "plaza-demo"
METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def read_list(path, fields):
    """Entries of excluded.txt / allowed-failures.txt: `fields` words, then a reason (required)."""
    entries = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        words = line.split(None, fields)
        if len(words) <= fields or not words[fields].strip():
            sys.exit(f"{path.name}:{number}: expected {fields} words and a reason, got: {line}")
        entries.append({"line": number, "words": words[:fields], "reason": words[fields].strip()})
    return entries


def http(method, url, body=None, token=None):
    request = urllib.request.Request(url, method=method, data=None if body is None else json.dumps(body).encode())
    if body is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def sign_in(base, role):
    status, body = http("POST", f"{base}/api/v1/auth/login", {"email": f"{role}@demo.plaza.test", "password": DEMO_PASSWORD})
    if status != 200:
        sys.exit(f"signing in as {role}@demo.plaza.test answered {status}: {body[:300]!r}")
    token = json.loads(body)["accessToken"]
    # The token must carry the role (PLAZA_MFA_REQUIRED_ROLES empty: admins and operators need no second factor).
    status, body = http("GET", f"{base}/api/v1/me", token=token)
    roles = json.loads(body).get("roles", []) if status == 200 else []
    if role not in roles:
        sys.exit(f"{role}@demo.plaza.test is signed in without its role (GET /api/v1/me: {status} {body[:300]!r})")
    return token


def curl(case, interaction, base):
    """A short curl for one failing case (the token as $TOKEN)."""
    request = (interaction or {}).get("request") or {}
    value = case.get("value", {})
    uri = request.get("uri") or base + value.get("path", "")
    words = ["curl", "-i", "-X", request.get("method") or value.get("method", "GET")]
    for name, values in (request.get("headers") or {}).items():
        if name.lower() in ("user-agent", "accept-encoding", "accept", "connection", "content-length", "cookie",
                            "x-schemathesis-testcaseid"):
            continue
        for header in values:
            if name.lower() == "authorization":
                header = "Bearer $TOKEN" if header == "[Filtered]" else header
            words += ["-H", f"{name}: {header}"]
    body = request.get("body")
    if isinstance(body, dict) and "$base64" in body:
        raw = base64.b64decode(body["$base64"])
        try:
            text = raw.decode("utf-8")
            words += ["--data-binary", text if len(text) <= 300 else text[:300] + "…"]
        except UnicodeDecodeError:
            words += ["--data-binary", f"<{len(raw)} binary bytes>"]
    elif isinstance(body, str) and body:
        words += ["--data-binary", body[:300]]
    words.append(uri.replace(base, "$BASE", 1))
    return " ".join(shlex.quote(word) if not word.startswith("$") else '"' + word + '"' for word in words)


def headline(message):
    """The line of a failure's message that says most: schemathesis's first line is often generic."""
    lines = [line.strip() for line in message.splitlines() if line.strip() and not line.strip().startswith("Expected:")]
    if len(lines) > 1 and lines[0] in ("Invalid data should have been rejected", "Valid data should have been accepted",
                                       "The following media types are documented in the schema:"):
        return lines[0] + ": " + lines[1]
    return lines[0] if lines else ""


def response_text(interaction):
    """The answer's status, content type, first characters, and what it says went wrong (`answers`): each
    `field: message` of a problem's errors[], else its detail; each GraphQL error as `code: message`; OAuth's
    `error: error_description`; an HTML page's title; `(empty)`."""
    response = (interaction or {}).get("response") or {}
    content = response.get("content") or {}
    raw = base64.b64decode(content["$base64"]) if isinstance(content, dict) and "$base64" in content else b""
    kind = ((response.get("headers") or {}).get("content-type") or [""])[0]
    text = raw.decode("utf-8", "replace")
    answers = []
    try:
        body = json.loads(text) if text.strip().startswith("{") else None
    except ValueError:
        body = None
    if isinstance(body, dict):
        if isinstance(body.get("errors"), list) and body["errors"]:
            for error in body["errors"]:
                if not isinstance(error, dict):
                    continue
                if "field" in error:
                    answers.append(f"{error['field']}: {error.get('message', '')}")
                else:
                    code = (error.get("extensions") or {}).get("code", "graphql")
                    answers.append(f"{code}: {error.get('message', '')}")
        elif "detail" in body:
            answers.append(str(body["detail"]))
        elif "error" in body:
            answers.append(f"{body['error']}: {body.get('error_description', '')}")
    if not answers:
        title = re.search(r"<title>(.*?)</title>", text, re.S)
        answers.append(f"page: {title.group(1).strip()}" if title else (text[:160] if text.strip() else "(empty)"))
    answers = [" ".join(answer.split())[:300] for answer in answers]
    return response.get("status_code"), kind, " ".join(text.split())[:240], answers


def run_role(base, role, out):
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    status, body = http("GET", f"{base}/openapi.json")
    if status != 200:
        sys.exit(f"GET /openapi.json answered {status}")
    document = json.loads(body)
    ids = {f"{method.upper()} {path}": operation.get("operationId")
           for path, item in document["paths"].items() for method, operation in item.items() if method in METHODS}
    excluded = []
    for entry in read_list(HERE / "excluded.txt", 2):
        label = " ".join(entry["words"])
        if label not in ids:
            sys.exit(f"excluded.txt:{entry['line']}: /openapi.json has no operation {label}")
        if not ids[label]:
            sys.exit(f"excluded.txt:{entry['line']}: {label} has no operationId to exclude it by")
        excluded.append(ids[label])
    token = None if role == "anonymous" else sign_in(base, role)
    command = [str(SCHEMATHESIS), "--config-file", str(HERE / "schemathesis.toml"), "run", f"{base}/openapi.json",
               "--checks", "all", "--no-color",
               "--report", "ndjson,junit", "--report-ndjson-path", str(out / "events.ndjson"),
               "--report-junit-path", str(out / "junit.xml")]
    for operation in excluded:
        command += ["--exclude-operation-id", operation]
    if token:
        command += ["-H", f"Authorization: Bearer {token}"]
    with open(out / "schemathesis.log", "w") as log:
        # Its own working directory: schemathesis writes nothing into the repository.
        child = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=out)

        def stop(signum, frame):  # scripts/schemathesis.sh stopping (its trap): schemathesis stops too
            child.terminate()
            try:
                os.waitpid(child.pid, 0)  # not child.wait(): the interrupted wait below holds its lock
            except ChildProcessError:
                pass
            sys.exit(128 + signum)

        signal.signal(signal.SIGTERM, stop)
        exit_code = child.wait()
    summarise(base, role, out, time.monotonic() - started, exit_code)


def summarise(base, role, out, seconds, exit_code):
    """Reads schemathesis's events (events.ndjson) into summary.json and failures.txt: each failure once per
    operation, check, status and answer, with a curl that reproduces it."""
    labels, cases, failures, errors = set(), set(), {}, []
    events = out / "events.ndjson"
    for line in open(events, encoding="utf-8") if events.exists() else []:
        event = json.loads(line)
        if "ScenarioFinished" in event:
            recorder = event["ScenarioFinished"]["recorder"]
            labels.add(recorder["label"])
            cases.update(recorder.get("cases", {}))
            for case_id, checks in (recorder.get("checks") or {}).items():
                for check in checks:
                    if check.get("status") != "failure":
                        continue
                    failure = check["failure_info"]["failure"]
                    operation = failure.get("operation") or recorder["label"]
                    message = re.sub(r"127\.0\.0\.1:\d+|port=\d+", "…", failure.get("message", "")).strip()
                    interaction = (recorder.get("interactions") or {}).get(case_id)
                    status_code, kind, text, answers = response_text(interaction)
                    if status_code is None or 200 <= status_code < 300:
                        answers = []  # a success says nothing went wrong: schemathesis's message says what did
                    key = (operation, check["name"], message, status_code, tuple(answers))
                    if key in failures:
                        failures[key]["cases"] += 1
                        continue
                    failures[key] = {
                        "operation": operation, "check": check["name"], "code": failure.get("code"),
                        "title": failure.get("title"), "message": message, "status": status_code,
                        "contentType": kind, "response": text, "answers": answers, "cases": 1,
                        "curl": curl(recorder["cases"].get(case_id, {}), interaction, base),
                    }
        elif "NonFatalError" in event:
            error = event["NonFatalError"]
            errors.append({"operation": error.get("label"), "check": error["value"].get("type", "error"),
                           "message": re.sub(r"127\.0\.0\.1:\d+|port=\d+", "…", error["value"].get("message", "")).split("\n")[0],
                           "phase": error.get("phase")})
        elif "FatalError" in event:
            errors.append({"operation": "(the run)", "check": "fatal", "message": json.dumps(event["FatalError"])[:300]})
    if not labels:
        errors.append({"operation": "(the run)", "check": "fatal",
                       "message": f"schemathesis tested nothing (exit {exit_code}); see schemathesis.log"})
    found = list(failures.values()) + errors
    summary = {"role": role, "operations": len(labels), "cases": len(cases), "failures": found,
               "schemathesisSeconds": round(seconds, 1), "exitCode": exit_code}
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    with open(out / "failures.txt", "w") as listing:
        for item in sorted(found, key=lambda f: (f["operation"], f["check"])):
            listing.write(f"{item['operation']}  {item['check']}  ({item.get('cases', 1)} cases)\n")
            listing.write("".join(f"  {line}\n" for line in item["message"].splitlines() if line.strip()))
            if item.get("status") is not None:
                listing.write(f"  answered {item['status']} {item['contentType']}: {item['response']}\n")
            if item.get("curl"):
                listing.write(f"  {item['curl']}\n")
            listing.write("\n")


def read_allowed():
    """allowed-failures.txt: METHOD /path check roles answer -- reason (METHOD /path and answer may use *)."""
    entries = []
    for entry in read_list(HERE / "allowed-failures.txt", 4):
        answer, separator, reason = entry["reason"].partition(" -- ")
        if not separator or not answer.strip() or not reason.strip():
            sys.exit(f"allowed-failures.txt:{entry['line']}: expected `… answer -- reason`")
        method, path, check, roles = entry["words"]
        entries.append({"line": entry["line"], "operation": f"{method} {path}", "check": check,
                        "roles": None if roles == "*" else set(roles.split(",")), "answer": answer.strip(),
                        "reason": reason.strip()})
    return entries


def glob(pattern, text):
    """`*` stands for any text; everything else, brackets included, for itself."""
    return re.fullmatch(".*".join(re.escape(part) for part in pattern.split("*")), text, re.S) is not None


def allowance(failure, role, allowed):
    """The entries that cover a failure: every one of its answers must match one (a failure without answers,
    such as a refused request's success or a timeout, is never allowed)."""
    answers = failure.get("answers") or []
    if not answers:
        return None
    used = []
    for answer in answers:
        entry = next((entry for entry in allowed
                      if glob(entry["operation"], failure["operation"]) and entry["check"] == failure["check"]
                      and (entry["roles"] is None or role in entry["roles"]) and glob(entry["answer"], answer)), None)
        if entry is None:
            return None
        used.append(entry["line"])
    return used


def table(out, roles):
    allowed = read_allowed()
    used = set()
    rows, unexpected = [], {}
    for role in roles:
        path = out / role / "summary.json"
        seconds_path = out / role / "seconds"
        seconds = int(seconds_path.read_text()) if seconds_path.exists() else None
        if not path.exists():
            rows.append((role, "-", "-", "did not run", seconds))
            unexpected.setdefault(("(the run)", "fatal", None, "no results: see the log above"), []).append(role)
            continue
        summary = json.loads(path.read_text())
        accepted = 0
        for failure in summary["failures"]:
            lines = allowance(failure, role, allowed)
            if lines:
                used.update(lines)
                accepted += 1
                continue
            # Listed by what went wrong: each answer that no entry allows (a failure is allowed only whole).
            saids = []
            for answer in failure.get("answers") or []:
                lines = allowance(dict(failure, answers=[answer]), role, allowed)
                if lines:
                    used.update(lines)
                else:
                    saids.append(re.sub(r"\[\d+\]", "[n]", answer))
            for said in saids or [headline(failure["message"])]:
                key = (failure["operation"], failure["check"], failure.get("status"), said[:200])
                if role not in unexpected.setdefault(key, []):
                    unexpected[key].append(role)
        count = len(summary["failures"]) - accepted
        rows.append((role, summary["operations"], summary["cases"], f"{count}" + (f" (+{accepted} allowed)" if accepted else ""), seconds))
    print(f"{'role':<10} {'operations':>10} {'test cases':>10}  {'failures':<20} {'time':>6}")
    for role, operations, cases, failures, seconds in rows:
        took = f"{seconds // 60}m{seconds % 60:02d}s" if seconds is not None else "-"
        print(f"{role:<10} {operations:>10} {cases:>10}  {failures:<20} {took:>6}")
    if set(roles) >= {"anonymous", "customer", "provider", "operator", "admin"}:
        for entry in allowed:
            if entry["line"] not in used:
                print(f"allowed-failures.txt:{entry['line']}: not found by this run (remove it if it does not come back): "
                      f"{entry['operation']} {entry['check']} {entry['answer']}")
    if unexpected:
        print(f"\n{len(unexpected)} distinct failures (the roles that found each; each role's failures.txt in {out} "
              "has the answers and a curl each):")
        for (operation, check, status, said), found_by in sorted(unexpected.items(), key=lambda item: item[0][:2]):
            who = "all roles" if len(found_by) == 5 else ",".join(found_by)
            print(f"  {operation}  {check}" + (f" [{status}]" if status is not None else "") + f": {said}  ({who})")
        return 1
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "role":
        run_role(sys.argv[2].rstrip("/"), sys.argv[3], Path(sys.argv[4]))
    elif len(sys.argv) == 5 and sys.argv[1] == "summarise":  # again, from a kept run's events.ndjson
        summarise(sys.argv[2].rstrip("/"), sys.argv[3], Path(sys.argv[4]), 0, 0)
    elif len(sys.argv) >= 4 and sys.argv[1] == "table":
        sys.exit(table(Path(sys.argv[2]), sys.argv[3:]))
    else:
        sys.exit(__doc__)
