-- wrk script: each connection is an open widget reading one poll live, as widget.js does: a
-- conditional read (If-None-Match) every X-Poll-Refresh seconds, staggered.
-- args: <path> <interval ms> [<voters' path> <voters' share, 0-1>]: a share of the reads are
-- voters' re-reads (their own URL, with the poll's voter pass). done() prints BENCH_200 / BENCH_304
-- / BENCH_OTHER.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  path, interval = args[1], tonumber(args[2])
  voters_path, voters_share = args[3], tonumber(args[4] or "0")
  etags, n200, n304, nother, first = {}, 0, 0, 0, true
  math.randomseed(os.time() + math.floor(os.clock() * 1e6))
end

function delay()
  if first then  -- widgets open at different moments
    first = false
    return math.random(0, interval)
  end
  return interval
end

function request()
  -- as the browser sends a fetch with cache: "no-cache" (a CDN answers it from its cache anyway)
  local headers = {["Cache-Control"] = "max-age=0"}
  current = (voters_path and math.random() < voters_share) and voters_path or path
  if etags[current] then headers["If-None-Match"] = etags[current] end
  return wrk.format("GET", current, headers)
end

function response(status, headers, body)
  if status == 200 then
    n200 = n200 + 1
    etags[current] = headers["ETag"] or headers["etag"] or etags[current]
  elseif status == 304 then
    n304 = n304 + 1
  else
    nother = nother + 1
  end
end

function done(summary, latency, requests)
  local a, b, c = 0, 0, 0
  for _, t in ipairs(threads) do
    a = a + t:get("n200"); b = b + t:get("n304"); c = c + t:get("nother")
  end
  io.write(string.format("BENCH_200 %d\nBENCH_304 %d\nBENCH_OTHER %d\n", a, b, c))
end
