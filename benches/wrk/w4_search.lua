-- W4 search: POST /crm/v3/objects/calls/search, EQ on hs_call_direction (OUTBOUND and INBOUND in
-- turn; half the calls match), sorted by hs_timestamp DESCENDING, 5 properties, limit 100.
-- Unit: searches/s = req/s.
package.path = (os.getenv("WRK_LUA_DIR") or ".") .. "/?.lua;" .. package.path
local calls = require("calls")

calls.workload { pool = function(tid)
  local path, headers = calls.collection() .. "/search", calls.headers(true)
  return { wrk.format("POST", path, headers, calls.search_for("OUTBOUND", 100)),
           wrk.format("POST", path, headers, calls.search_for("INBOUND", 100)) }
end }
