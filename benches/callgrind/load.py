"""Drives a hubcalls server with N requests of one kind, one at a time on one keep-alive
connection, for `instructions.sh`: `create` (W1's bodies), `update` (a PATCH of one call),
`get` (a GET of one call with two properties) or `batch` (a batch/create of BATCH_SIZE calls
shaped like W3's: ../shared/perf/lua/common.lua). Exits non-zero if an answer is not a 2xx."""

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


BATCH_SIZE = 100
DIRECTIONS = ["INBOUND", "OUTBOUND"]
STATUSES = ["COMPLETED", "NO_ANSWER", "BUSY", "FAILED", "COMPLETED", "COMPLETED"]
SUBJECTS = ["renewal timeline", "pricing for the enterprise tier", "onboarding blockers",
            "support escalation", "quarterly business review", "contract redlines"]


def w3_properties(n):
    """One call's properties as W3 sends them (~600 bytes, a unique ~200-character body)."""
    stamp = 1700000000 + (n * 37) % 31536000
    body = (f"Spoke with the customer about {SUBJECTS[n % 6]} and {SUBJECTS[(n + 1) % 6]}. "
            "Agreed next steps: send recap, schedule a follow-up demo, loop in finance. "
            f"Ref perf-0-{n}; notes logged by the rep after the call ended.")
    return {
        "hs_timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(stamp)),
        "hs_call_title": f"Call perf-0-{n} with ACME procurement",
        "hs_call_body": body,
        "hs_call_duration": str((n * 7919) % 3600000),
        "hs_call_direction": DIRECTIONS[n % 2],
        "hs_call_status": STATUSES[n % 6],
    }


def batch(i):
    inputs = [{"properties": w3_properties(i * BATCH_SIZE + k), "associations": []}
              for k in range(BATCH_SIZE)]
    call("POST", "/crm/v3/objects/calls/batch/create", {"inputs": inputs})


first = create(0)
for i in range(count):
    if kind == "create":
        create(i + 1)
    elif kind == "update":
        call("PATCH", f"/crm/v3/objects/calls/{first}", {"properties": {"hs_call_title": f"t{i}"}})
    elif kind == "batch":
        batch(i)
    elif kind == "get":
        call("GET", f"/crm/v3/objects/calls/{first}?properties=hs_call_title,hs_call_body")
    else:
        sys.exit(f"unknown kind {kind}")
