-- W3 batch create: POST /crm/v3/objects/<type>/batch/create with 100 new objects like W1's (32
-- distinct bodies per thread, or new ones each time for contacts). Unit: objects/s = req/s x 100.
package.path = (os.getenv("WRK_LUA_DIR") or ".") .. "/?.lua;" .. package.path
local bench = require("bench")

bench.workload(bench.creates("/batch/create", 32, function(tid, k)
  return bench.batch_of(tid, k, 100)
end))
