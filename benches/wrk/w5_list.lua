-- W5 list: GET /crm/v3/objects/<type>?limit=100&properties=<6 properties>&after=<cursor>, paging
-- through the stored objects, then from the start again. The cursors that responses hand back
-- wait in a queue of the thread's, so each of its connections continues some scan.
-- Unit: objects/s (the "id": keys counted in the pages).
package.path = (os.getenv("WRK_LUA_DIR") or ".") .. "/?.lua;" .. package.path
local bench = require("bench")

local first_page, headers
local cursors, head, tail = {}, 1, 0

local function queue(cursor)
  tail = tail + 1
  cursors[tail] = cursor
end

bench.workload {
  init = function(tid)
    first_page = bench.collection() .. "?limit=100&properties=" .. bench.object.get_properties
    headers = bench.headers(false)
  end,
  next_request = function()
    if first_page == nil then return wrk.format("GET", "/") end -- wrk's check in its main state
    local cursor = false
    if head <= tail then
      cursor = cursors[head]
      cursors[head] = nil
      head = head + 1
    end
    if cursor then
      return wrk.format("GET", first_page .. "&after=" .. bench.url_escape(cursor), headers)
    end
    return wrk.format("GET", first_page, headers)
  end,
  on_response = function(status, body)
    if status ~= 200 or body == nil then return queue(false) end
    local from = 1
    while true do
      local _, last = body:find('"id":', from, true)
      if last == nil then break end
      objects = objects + 1
      from = last + 1
    end
    local paging = body:find('"paging"', 1, true)
    local next_at = paging and body:find('"next"', paging, true)
    local cursor = next_at and body:match('"after"%s*:%s*"?([^",}]+)', next_at)
    queue(cursor or false)
  end,
}
