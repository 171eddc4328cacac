-- W4 search: POST /crm/v3/objects/<type>/search, EQ on the type's enumeration property (its two
-- values in turn; half the objects match each), sorted by its date property DESCENDING, 5
-- properties, limit 100. Calls: EQ on hs_call_direction, sorted by hs_timestamp; the other
-- types' choices are in objects.lua. Unit: searches/s = req/s.
package.path = (os.getenv("WRK_LUA_DIR") or ".") .. "/?.lua;" .. package.path
local bench = require("bench")

bench.workload { pool = function(tid)
  local path, headers, values = bench.collection() .. "/search", bench.headers(true),
    bench.object.search.values
  return { wrk.format("POST", path, headers, bench.search_for(values[1], 100)),
           wrk.format("POST", path, headers, bench.search_for(values[2], 100)) }
end }
