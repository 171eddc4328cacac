-- W6 update: PATCH /crm/v3/objects/<type>/{id} on random seeded ids, with the type's update body
-- (calls: hs_call_status, hs_call_duration and hs_call_title; 8192 distinct requests per
-- thread). Unit: updates/s.
package.path = (os.getenv("WRK_LUA_DIR") or ".") .. "/?.lua;" .. package.path
local bench = require("bench")

bench.workload { pool = function(tid)
  local ids = bench.seeded_ids()
  math.randomseed(104729 * (tid + 1))
  local pool, prefix, headers = {}, bench.collection() .. "/", bench.headers(true)
  for i = 1, 8192 do
    local body = bench.object.update(tid, i)
    pool[i] = wrk.format("PATCH", prefix .. bench.url_escape(ids[math.random(#ids)]), headers, body)
  end
  return pool
end }
