-- W6 update: PATCH /crm/v3/objects/calls/{id} on random seeded ids: hs_call_status,
-- hs_call_duration and hs_call_title (8192 distinct requests per thread). Unit: updates/s.
package.path = (os.getenv("WRK_LUA_DIR") or ".") .. "/?.lua;" .. package.path
local calls = require("calls")

local STATUSES = { "COMPLETED", "NO_ANSWER", "BUSY", "FAILED" }

calls.workload { pool = function(tid)
  local ids = calls.seeded_ids()
  math.randomseed(104729 * (tid + 1))
  local pool, prefix, headers = {}, calls.collection() .. "/", calls.headers(true)
  for i = 1, 8192 do
    local body = string.format('{"properties":{"hs_call_status":"%s","hs_call_duration":"%d",'
      .. '"hs_call_title":"Updated %s-%d-%d"}}', STATUSES[i % #STATUSES + 1], i * 7919 % 3600000,
      calls.run_tag, tid, i)
    pool[i] = wrk.format("PATCH", prefix .. calls.url_escape(ids[math.random(#ids)]), headers, body)
  end
  return pool
end }
