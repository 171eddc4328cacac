-- What the wrk workloads of `cargo bench --bench load` share: the object type they run against,
-- the headers, the workload callbacks and the result line the bench reads back. The bodies of
-- each object type are in objects.lua.
--
-- These are the project's own scripts. For calls they send the same workloads with the same body
-- shapes as the harness hubcalls is judged by (../shared/perf, W1..W6), so the two sets of
-- numbers can be compared: the same six properties of ~600-byte creates, the same GET property
-- list, the same search body, list paging, PATCH body and batch of 100. The other types get the
-- same six workloads with bodies of their own (see objects.lua).
--
-- Requests are built once per thread in init() (a pool of distinct requests), so a request costs
-- wrk one table lookup, not string formatting: the load generator should not be what bounds.
--
-- Environment (set by benches/load.rs):
--   TOKEN        bearer token
--   OBJECT_TYPE  the type's plural name (calls when unset)
--   IDS_FILE     seeded object ids, one a line (W2, W6)
--   RUN_TAG      mixed into titles and bodies, so each run creates objects of its own
--   WRK_LUA_DIR  this folder (how the workload scripts find this file)

-- Not `objects`: that is the global W5 counts the listed objects in.
local by_type = require("objects")

local bench = {}

bench.object_type = os.getenv("OBJECT_TYPE") or "calls"
-- The type's body builders and property lists (see objects.lua).
bench.object = by_type[bench.object_type]
  or error("OBJECT_TYPE " .. bench.object_type .. " is not one of the types objects.lua knows")

-- "/crm/v3/objects/<type>" under the base URL's path (for a --url with a path prefix). wrk sets
-- wrk.path from the URL before init() runs.
function bench.collection()
  return (wrk.path or ""):gsub("/+$", "") .. "/crm/v3/objects/" .. bench.object_type
end

function bench.headers(has_body)
  local h = { ["Authorization"] = "Bearer " .. (os.getenv("TOKEN") or ""),
              ["Accept"] = "application/json" }
  if has_body then h["Content-Type"] = "application/json" end
  return h
end

function bench.url_escape(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
end

function bench.batch_of(tid, k, size)
  local inputs = {}
  for i = 1, size do inputs[i] = bench.object.new_object(tid, k * size + i) end
  return '{"inputs":[' .. table.concat(inputs, ",") .. ']}'
end

-- W4's search: EQ on the type's enumeration property, newest first by its date property,
-- its 5 properties.
function bench.search_for(value, limit)
  local s = bench.object.search
  return string.format('{"filterGroups":[{"filters":[{"propertyName":"%s",'
    .. '"operator":"EQ","value":"%s"}]}],"sorts":[{"propertyName":"%s","direction":'
    .. '"DESCENDING"}],"properties":%s,"limit":%d}', s.property, value, s.sort, s.properties, limit)
end

function bench.seeded_ids()
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

-- The workload of W1 and W3: POSTs of new objects to the collection path + `suffix`, the n-th of
-- a thread's being body_of(tid, n). A pool of `per_thread` distinct requests sent round-robin,
-- except for a type whose creates must all differ (contacts: a second contact with an email
-- already stored is a 409), which builds each request when it is sent, with a new n.
function bench.creates(suffix, per_thread, body_of)
  if not bench.object.distinct_creates then
    return { pool = function(tid)
      local pool, path, headers = {}, bench.collection() .. suffix, bench.headers(true)
      for n = 1, per_thread do pool[n] = wrk.format("POST", path, headers, body_of(tid, n)) end
      return pool
    end }
  end
  local path, headers, tid, n
  return {
    init = function(thread)
      path, headers, tid, n = bench.collection() .. suffix, bench.headers(true), thread, 0
    end,
    next_request = function()
      if path == nil then return wrk.format("GET", "/") end -- wrk's check in its main state
      n = n + 1
      return wrk.format("POST", path, headers, body_of(tid, n))
    end,
  }
end

-- A string as a JSON string literal.
local function json_string(s)
  return '"' .. (s:gsub('[%c"\\]', function(c) return string.format("\\u%04x", c:byte()) end))
    .. '"'
end

-- wrk's callbacks. A workload gives either pool(tid) -> list of requests, sent round-robin, or
-- next_request() and on_response(status, body) of its own (W5, distinct creates). Every
-- response's status is counted here: wrk's own count leaves out 1xx and 3xx. The first non-2xx
-- answer of each thread is kept (status and the start of its body) for the bench to show.
local threads = {}

function bench.workload(w)
  local pool, at
  thread_id, non_2xx, objects, first_error = 0, 0, 0, nil

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
    if status < 200 or status > 299 then
      non_2xx = non_2xx + 1
      if first_error == nil then first_error = status .. " " .. (body or ""):sub(1, 400) end
    end
    if w.on_response then w.on_response(status, body) end
  end

  function done(summary, latency, requests)
    local bad, seen, example = 0, 0, nil
    for _, thread in ipairs(threads) do
      bad = bad + thread:get("non_2xx")
      seen = seen + thread:get("objects")
      example = example or thread:get("first_error")
    end
    local e = summary.errors
    io.write(string.format('HUBCALLS_WRK_RESULT {"requests":%d,"seconds":%.3f,"non_2xx":%d,'
      .. '"socket_errors":%d,"p50_ms":%.3f,"p99_ms":%.3f,"objects":%d,"first_error":%s}\n',
      summary.requests, summary.duration / 1e6, bad, e.connect + e.read + e.write + e.timeout,
      latency:percentile(50) / 1000, latency:percentile(99) / 1000, seen,
      example and json_string(example) or "null"))
  end
end

return bench
