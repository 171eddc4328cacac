-- W3 batch create: POST /crm/v3/objects/calls/batch/create with 100 new calls like W1's (32
-- distinct bodies per thread). Unit: calls/s = req/s x 100.
package.path = (os.getenv("WRK_LUA_DIR") or ".") .. "/?.lua;" .. package.path
local calls = require("calls")

calls.workload { pool = function(tid)
  local pool, path, headers = {}, calls.collection() .. "/batch/create", calls.headers(true)
  for k = 1, 32 do pool[k] = wrk.format("POST", path, headers, calls.batch_of(tid, k, 100)) end
  return pool
end }
