-- W2 get: GET /crm/v3/objects/<type>/{id}?properties=<6 properties>, the seeded ids in an order
-- of each thread's own (up to 50,000 of them). Unit: gets/s = req/s.
package.path = (os.getenv("WRK_LUA_DIR") or ".") .. "/?.lua;" .. package.path
local bench = require("bench")

bench.workload { pool = function(tid)
  local ids = bench.seeded_ids()
  math.randomseed(7919 * (tid + 1))
  for i = #ids, 2, -1 do
    local j = math.random(i)
    ids[i], ids[j] = ids[j], ids[i]
  end
  local pool, headers = {}, bench.headers(false)
  local prefix, query = bench.collection() .. "/", "?properties=" .. bench.object.get_properties
  for i = 1, math.min(#ids, 50000) do
    pool[i] = wrk.format("GET", prefix .. bench.url_escape(ids[i]) .. query, headers)
  end
  return pool
end }
