-- What the wrk workloads of `cargo bench --bench load` share: the calls they send, the
-- headers, and the result line the bench reads back.
--
-- These are the project's own scripts. They send the same workloads with the same body shapes
-- as the harness hubcalls is judged by (../shared/perf, W1..W6), so the two sets of numbers can be
-- compared: the same six properties of ~600-byte creates, the same GET property list, the same
-- search body, list paging, PATCH body and batch of 100.
--
-- Requests are built once per thread in init() (a pool of distinct requests), so a request costs
-- wrk one table lookup, not string formatting: the load generator should not be what bounds.
--
-- Environment (set by benches/load.rs):
--   TOKEN        bearer token
--   IDS_FILE     seeded call ids, one a line (W2, W6)
--   RUN_TAG      mixed into titles and bodies, so each run creates calls of its own
--   WRK_LUA_DIR  this folder (how the workload scripts find this file)

local calls = {}

calls.run_tag = os.getenv("RUN_TAG") or tostring(os.time())

-- The 6 properties a GET or a list page asks for.
calls.get_properties =
  "hs_timestamp,hs_call_title,hs_call_body,hs_call_duration,hs_call_direction,hs_call_status"

-- The 5 properties a search asks for.
local SEARCH_PROPERTIES =
  '["hs_timestamp","hs_call_title","hs_call_direction","hs_call_duration","hs_call_status"]'

local DIRECTIONS = { "INBOUND", "OUTBOUND" }
local STATUSES = { "COMPLETED", "NO_ANSWER", "BUSY", "FAILED", "COMPLETED", "COMPLETED" }
local TOPICS = { "renewal timeline", "pricing for the enterprise tier", "onboarding blockers",
                 "support escalation", "quarterly business review", "contract redlines" }

-- "/crm/v3/objects/calls" under the base URL's path (for a --url with a path prefix). wrk sets
-- wrk.path from the URL before init() runs.
function calls.collection()
  return (wrk.path or ""):gsub("/+$", "") .. "/crm/v3/objects/calls"
end

function calls.headers(has_body)
  local h = { ["Authorization"] = "Bearer " .. (os.getenv("TOKEN") or ""),
              ["Accept"] = "application/json" }
  if has_body then h["Content-Type"] = "application/json" end
  return h
end

function calls.url_escape(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
end

-- An hs_call_body of about 200 characters, different for every (thread, n).
local function call_notes(tid, n)
  local first = TOPICS[n % #TOPICS + 1]
  local second = TOPICS[(n + 1 + tid % 5) % #TOPICS + 1]
  return string.format("Spoke with the customer about %s and %s. Agreed next steps: send recap, "
    .. "schedule a follow-up demo, loop in finance. Ref %s-%d-%d; notes logged by the rep after "
    .. "the call ended.", first, second, calls.run_tag, tid, n)
end

-- One new call's "properties" object (~560 bytes): timestamps spread over a year, half inbound
-- and half outbound, a unique title.
function calls.new_call(tid, n)
  local at = 1700000000 + (tid * 1000003 + n * 37) % 31536000
  return string.format('{"properties":{"hs_timestamp":"%s","hs_call_title":"Call %s-%d-%d with '
    .. 'ACME procurement","hs_call_body":"%s","hs_call_duration":"%d","hs_call_direction":"%s",'
    .. '"hs_call_status":"%s"},"associations":[]}',
    os.date("!%Y-%m-%dT%H:%M:%S.000Z", at), calls.run_tag, tid, n, call_notes(tid, n),
    (n * 7919 + tid * 104729) % 3600000, DIRECTIONS[n % 2 + 1], STATUSES[n % #STATUSES + 1])
end

function calls.batch_of(tid, k, size)
  local inputs = {}
  for i = 1, size do inputs[i] = calls.new_call(tid, k * size + i) end
  return '{"inputs":[' .. table.concat(inputs, ",") .. ']}'
end

-- EQ on hs_call_direction (half the calls match), newest first, 5 properties.
function calls.search_for(direction, limit)
  return string.format('{"filterGroups":[{"filters":[{"propertyName":"hs_call_direction",'
    .. '"operator":"EQ","value":"%s"}]}],"sorts":[{"propertyName":"hs_timestamp","direction":'
    .. '"DESCENDING"}],"properties":%s,"limit":%d}', direction, SEARCH_PROPERTIES, limit)
end

function calls.seeded_ids()
  local path = os.getenv("IDS_FILE") or error("IDS_FILE is not set")
  local file = io.open(path, "r") or error("cannot read IDS_FILE " .. path)
  local ids = {}
  for line in file:lines() do
    if line ~= "" then ids[#ids + 1] = line end
  end
  file:close()
  if #ids == 0 then error("IDS_FILE " .. path .. " holds no ids") end
  return ids
end

-- wrk's callbacks. A workload gives either pool(tid) -> list of requests, sent round-robin, or
-- next_request() and on_response(status, body) of its own (W5). Every response's status is
-- counted here: wrk's own count leaves out 1xx and 3xx.
local threads = {}

function calls.workload(w)
  local pool, at
  thread_id, non_2xx, objects = 0, 0, 0

  function setup(thread)
    thread:set("thread_id", #threads)
    threads[#threads + 1] = thread
  end

  function init(args)
    if w.pool then pool, at = w.pool(thread_id), 0 end
    if w.init then w.init(thread_id) end
  end

  function request()
    -- wrk checks one request in its main Lua state too, where init() never ran.
    if w.pool then
      if pool == nil then return wrk.format("GET", "/") end
      at = at % #pool + 1
      return pool[at]
    end
    return w.next_request()
  end

  function response(status, headers, body)
    if status < 200 or status > 299 then non_2xx = non_2xx + 1 end
    if w.on_response then w.on_response(status, body) end
  end

  function done(summary, latency, requests)
    local bad, seen = 0, 0
    for _, thread in ipairs(threads) do
      bad = bad + thread:get("non_2xx")
      seen = seen + thread:get("objects")
    end
    local e = summary.errors
    io.write(string.format('HUBCALLS_WRK_RESULT {"requests":%d,"seconds":%.3f,"non_2xx":%d,'
      .. '"socket_errors":%d,"p50_ms":%.3f,"p99_ms":%.3f,"objects":%d}\n',
      summary.requests, summary.duration / 1e6, bad, e.connect + e.read + e.write + e.timeout,
      latency:percentile(50) / 1000, latency:percentile(99) / 1000, seen))
  end
end

return calls
