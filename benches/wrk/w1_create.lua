-- W1 create: POST /crm/v3/objects/calls, one new ~600-byte call per request (4096 distinct
-- bodies per thread). Unit: calls/s = req/s.
package.path = (os.getenv("WRK_LUA_DIR") or ".") .. "/?.lua;" .. package.path
local calls = require("calls")

calls.workload { pool = function(tid)
  local pool, path, headers = {}, calls.collection(), calls.headers(true)
  for n = 1, 4096 do pool[n] = wrk.format("POST", path, headers, calls.new_call(tid, n)) end
  return pool
end }
