"""Drives a hubcalls server with N requests of one kind, one at a time on one keep-alive
connection, for `instructions.sh`: `create` (W1's bodies), `update` (a PATCH of one call) or
`get` (a GET of one call with two properties). Exits non-zero if an answer is not a 2xx."""

import http.client
import json
import sys
import time

count, port, kind = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
HEADERS = {"Authorization": "Bearer perf-harness-token", "Content-Type": "application/json"}

for _ in range(600):  # the server starts slowly under valgrind
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.request("GET", "/healthz")
        conn.getresponse().read()
        break
    except OSError:
        time.sleep(0.5)


def call(method, path, body=None):
    conn.request(method, path, None if body is None else json.dumps(body), HEADERS)
    response = conn.getresponse()
    answer = response.read()
    if not 200 <= response.status < 300:
        sys.exit(f"{method} {path}: {response.status} {answer[:200]!r}")
    return answer


def create(i):
    properties = {
        "hs_timestamp": "2025-01-01T00:00:00Z",
        "hs_call_title": f"call {i}",
        "hs_call_body": "x" * 200 + str(i),
        "hs_call_direction": "INBOUND",
        "hs_call_duration": "1000",
    }
    return json.loads(call("POST", "/crm/v3/objects/calls", {"properties": properties}))["id"]


first = create(0)
for i in range(count):
    if kind == "create":
        create(i + 1)
    elif kind == "update":
        call("PATCH", f"/crm/v3/objects/calls/{first}", {"properties": {"hs_call_title": f"t{i}"}})
    elif kind == "get":
        call("GET", f"/crm/v3/objects/calls/{first}?properties=hs_call_title,hs_call_body")
    else:
        sys.exit(f"unknown kind {kind}")
