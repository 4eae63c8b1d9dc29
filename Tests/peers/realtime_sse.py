"""Reads Plaza's Server-Sent Events with a plain HTTP client (http.client), as a non-browser client would.

Usage: python realtime_sse.py HOST PORT TOKEN TOPIC LAST_EVENT_ID EXPECTED
Prints "ready" once the stream's headers arrive, then one line per event: "event ID DATA-JSON".
Exits 0 after EXPECTED events, 1 on a timeout or a bad response.
"""
import http.client
import json
import sys

host, port, token, topic, last, expected = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6])
connection = http.client.HTTPConnection(host, port, timeout=20)
headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
if last:
    headers["Last-Event-ID"] = last
connection.request("GET", f"/api/v1/realtime/events?topics={topic}", headers=headers)
response = connection.getresponse()
if response.status != 200 or not response.getheader("Content-Type", "").startswith("text/event-stream"):
    print("bad response", response.status, response.read()[:500])
    sys.exit(1)
print("ready", flush=True)

received = 0
event_id, data = None, None
while received < expected:
    line = response.fp.readline().decode().rstrip("\n")
    if line.startswith("id: "):
        event_id = line[4:]
    elif line.startswith("data: "):
        data = line[6:]
    elif line == "" and data is not None:
        frame = json.loads(data)
        if frame.get("type") == "event":
            print("event", event_id, json.dumps(frame["data"], sort_keys=True), flush=True)
            received += 1
        event_id, data = None, None
sys.exit(0)
