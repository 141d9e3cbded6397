-- wrk script: each request is a vote by a voter token used once.
-- args: <tokens file> <targets file>; a target line is "<poll id> <option id>".
-- Counts 201s and other statuses per thread; done() prints BENCH_201 / BENCH_OTHER / BENCH_SENT.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  tokens, targets = {}, {}
  for line in io.lines(args[1]) do tokens[#tokens + 1] = line end
  for line in io.lines(args[2]) do
    local poll, option = line:match("(%d+) (%d+)")
    targets[#targets + 1] = {poll, option}
  end
  sent, n201, nother = 0, 0, 0
end

function request()
  sent = sent + 1
  local token = tokens[(sent - 1) % #tokens + 1]  -- wraps only if the file runs out (then 409s)
  local target = targets[(sent - 1) % #targets + 1]
  return wrk.format("POST", "/api/v1/polls/" .. target[1] .. "/votes",
    {["Content-Type"] = "application/json", ["X-Voter-Token"] = token},
    '{"option_ids":[' .. target[2] .. ']}')
end

function response(status, headers, body)
  if status == 201 then n201 = n201 + 1 else nother = nother + 1 end
end

function done(summary, latency, requests)
  local a, b, c = 0, 0, 0
  for _, thread in ipairs(threads) do
    a = a + thread:get("n201")
    b = b + thread:get("nother")
    c = c + thread:get("sent")
  end
  io.write(string.format("BENCH_201 %d\nBENCH_OTHER %d\nBENCH_SENT %d\n", a, b, c))
end
