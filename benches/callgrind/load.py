"""Drives a hubcalls server with N requests of one kind, one at a time on one keep-alive
connection, for `instructions.sh`: `create` (W1's bodies), `update` (a PATCH of one call),
`get` (a GET of one call with two properties), `batch` (a batch/create of BATCH_SIZE calls
shaped like W3's: ../shared/perf/lua/common.lua), `list` (W5: a page of 100 calls with the six
call properties, paging on through the seeded calls) or `search` (W4: EQ on hs_call_direction,
which half the calls match, sorted by hs_timestamp descending, 100 results with 5 properties).
`list` and `search` first seed 999 more calls through batch/create, the same for any N, so the
seeding cancels out of instructions.sh's difference. Exits non-zero if an answer is not a 2xx."""

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


# With the first call, 1,000 calls: ten full pages of 100, so every list request renders 100.
SEEDED = 999
GET_PROPERTIES = "hs_timestamp,hs_call_title,hs_call_body,hs_call_duration,hs_call_direction,hs_call_status"
SEARCH_BODY = {
    "filterGroups": [
        {"filters": [{"propertyName": "hs_call_direction", "operator": "EQ", "value": "INBOUND"}]}
    ],
    "sorts": [{"propertyName": "hs_timestamp", "direction": "DESCENDING"}],
    "properties": ["hs_timestamp", "hs_call_title", "hs_call_direction", "hs_call_duration", "hs_call_status"],
    "limit": 100,
}


def seed():
    """SEEDED calls like W4/W5's (W3's bodies): half inbound, spread timestamps."""
    for start in range(0, SEEDED, BATCH_SIZE):
        inputs = [{"properties": w3_properties(n)} for n in range(start, min(start + BATCH_SIZE, SEEDED))]
        call("POST", "/crm/v3/objects/calls/batch/create", {"inputs": inputs})


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
if kind in ("list", "search"):
    seed()
after = ""
for i in range(count):
    if kind == "create":
        create(i + 1)
    elif kind == "update":
        call("PATCH", f"/crm/v3/objects/calls/{first}", {"properties": {"hs_call_title": f"t{i}"}})
    elif kind == "batch":
        batch(i)
    elif kind == "get":
        call("GET", f"/crm/v3/objects/calls/{first}?properties=hs_call_title,hs_call_body")
    elif kind == "list":
        page = json.loads(call("GET", f"/crm/v3/objects/calls?limit=100&properties={GET_PROPERTIES}{after}"))
        following = page.get("paging", {}).get("next", {}).get("after")
        after = f"&after={following}" if following else ""
    elif kind == "search":
        call("POST", "/crm/v3/objects/calls/search", SEARCH_BODY)
    else:
        sys.exit(f"unknown kind {kind}")
