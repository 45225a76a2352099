-- wrk script: each request picks a random path from a file (one path a line) that bench/run.py
-- writes, so pages, ids and search words vary; done() prints the numbers run.py reads as JSON.
-- Usage: wrk ... http://127.0.0.1:PORT -s bench/paths.lua -- PATHS_FILE [MAX_RESPONSES]
-- With MAX_RESPONSES, the run also stops after that many responses: for endpoints that take
-- seconds per request, a count bounds the run better than a duration alone.
local paths = {}

function init(args)
  for line in io.lines(args[1]) do
    paths[#paths + 1] = line
  end
  math.randomseed(os.time())
  local limit, seen = tonumber(args[2] or "0"), 0
  if limit > 0 then -- defined only when needed: wrk skips parsing responses for Lua otherwise
    response = function()
      seen = seen + 1
      if seen >= limit then
        wrk.thread:stop()
      end
    end
  end
end

function request()
  return wrk.format("GET", paths[math.random(#paths)])
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, '
      .. '"connect": %d, "read": %d, "write": %d, "timeout": %d, "status": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    errors.connect, errors.read, errors.write, errors.timeout, errors.status))
end
