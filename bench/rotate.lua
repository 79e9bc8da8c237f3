-- wrk script: every request carries the next of many session cookies, so
-- that the gateway's caches see as many distinct sessions as the file
-- holds (one Cookie header value per line, e.g. "ssogate=2.AbC…").
--
--   wrk -t2 -c64 -d30s -s bench/rotate.lua http://127.0.0.1:18080/auth -- cookies.txt
--
-- For /auth, set the forwarded host and URI as a front proxy would with
-- -H 'X-Forwarded-Host: fwd.bench.localhost:18081' -H 'X-Forwarded-Uri: /'.
-- Each wrk thread starts at a random line, so threads do not send the
-- same cookie at the same moment.

local cookies = {}
local i = 0

function init(args)
  local path = args[1] or "cookies.txt"
  for line in io.lines(path) do
    if line ~= "" then
      cookies[#cookies + 1] = line
    end
  end
  if #cookies == 0 then
    error("rotate.lua: no cookies in " .. path)
  end
  -- Each thread's Lua state has its own tables, at different addresses.
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16))
  i = math.random(#cookies) - 1
end

function request()
  i = i % #cookies + 1
  wrk.headers["Cookie"] = cookies[i]
  return wrk.format()
end
