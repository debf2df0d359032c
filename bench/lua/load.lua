-- wrk script for the Latchkey benchmark (bench/run.mjs).
--
-- Rotates over many credentials, one per request, sent as `Authorization: Bearer <credential>`.
-- The credentials come in the environment variable LK_BENCH_TOKENS (newline separated), set
-- by bench/run.mjs on the wrk process only. Why an environment variable and not a file: the
-- plaintext tokens then never touch a disk, a temp file or a log; a process's environment is
-- readable only by its own user (and root) through /proc/<pid>/environ (mode 0400), exactly
-- like a private 0600 file would be, and it disappears when wrk exits. About a thousand 57-byte
-- tokens (~58 kB) fit well under Linux's 128 kB limit for one environment string.
--
-- The hello runs send the same rotating header to the unauthenticated route, so the load
-- generator does identical work on both sides of every ratio; that route ignores it.
--
--   LK_BENCH_PATH      request path (default /)
--   LK_BENCH_DELAY_MS  pause before each request on a connection (0 = as fast as possible);
--                      with C connections this caps the rate at about C * 1000 / delay req/s

local path = os.getenv("LK_BENCH_PATH") or "/"
local delay_ms = tonumber(os.getenv("LK_BENCH_DELAY_MS") or "0") or 0
-- Every request is formatted once, in init (after wrk has set the Host header), so the
-- per-request cost in wrk is one table lookup: formatting on every call made wrk itself the
-- bottleneck of the hello runs.
local requests = {}
local count = 0
local index = 0

init = function(args)
  for token in string.gmatch(os.getenv("LK_BENCH_TOKENS") or "", "[^\n]+") do
    requests[#requests + 1] = wrk.format("GET", path, { ["Authorization"] = "Bearer " .. token })
  end
  count = #requests
  if count == 0 then
    requests[1] = wrk.format("GET", path)
    count = 1
  end
end

request = function()
  index = index + 1
  if index > count then index = 1 end
  return requests[index]
end

if delay_ms > 0 then
  delay = function()
    return delay_ms
  end
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.1f}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
