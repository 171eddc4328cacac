-- W2 get: GET /crm/v3/objects/calls/{id}?properties=<6 properties>, the seeded ids in an order
-- of each thread's own (up to 50,000 of them). Unit: gets/s = req/s.
package.path = (os.getenv("WRK_LUA_DIR") or ".") .. "/?.lua;" .. package.path
local calls = require("calls")

calls.workload { pool = function(tid)
  local ids = calls.seeded_ids()
  math.randomseed(7919 * (tid + 1))
  for i = #ids, 2, -1 do
    local j = math.random(i)
    ids[i], ids[j] = ids[j], ids[i]
  end
  local pool, headers = {}, calls.headers(false)
  local prefix, query = calls.collection() .. "/", "?properties=" .. calls.get_properties
  for i = 1, math.min(#ids, 50000) do
    pool[i] = wrk.format("GET", prefix .. calls.url_escape(ids[i]) .. query, headers)
  end
  return pool
end }
