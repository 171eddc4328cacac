-- W1 create: POST /crm/v3/objects/<type>, one new object per request (calls: ~600 bytes; 4096
-- distinct bodies per thread, or a new one each time for contacts). Unit: objects/s = req/s.
package.path = (os.getenv("WRK_LUA_DIR") or ".") .. "/?.lua;" .. package.path
local bench = require("bench")

bench.workload(bench.creates("", 4096, bench.object.new_object))
