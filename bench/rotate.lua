-- wrk script: each request carries the next session cookie of a file, one
-- Cookie header value a line, so the load spreads over many sessions.
--   wrk -s bench/rotate.lua ... URL -- cookies.txt
local cookies = {}
local i = 0
local threads = 0

-- setup runs once per thread in the main Lua state: threads start at
-- different places, so they do not walk the list in step.
function setup(thread)
  thread:set("offset", threads * 7919)
  threads = threads + 1
end

function init(args)
  for line in io.lines(args[1]) do
    if line ~= "" then cookies[#cookies + 1] = line end
  end
  if #cookies == 0 then error("rotate.lua: no cookies in " .. args[1]) end
  i = (offset or 0) % #cookies
end

function request()
  i = i % #cookies + 1
  wrk.headers["Cookie"] = cookies[i]
  return wrk.format()
end
