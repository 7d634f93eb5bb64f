-- wrk script: each request asks for a random book (ids from BENCH_IDS, one per line), or,
-- with BENCH_PATH set, always that path; done() prints the latency percentiles as JSON.
local ids = {}
local fixed = os.getenv("BENCH_PATH")
-- With BENCH_REVALIDATE set, each request sends the book's ETag (a seeded book is at version
-- 1) in If-None-Match: a 304 revalidation.
local revalidate = os.getenv("BENCH_REVALIDATE")

init = function(args)
  if not fixed then
    for line in io.lines(os.getenv("BENCH_IDS")) do
      ids[#ids + 1] = line
    end
  end
  math.randomseed(os.time() + math.floor(os.clock() * 1000000))
end

request = function()
  if fixed then
    return wrk.format("GET", fixed)
  end
  local id = ids[math.random(#ids)]
  if revalidate then
    return wrk.format("GET", "/api/v1/books/" .. id, {["If-None-Match"] = '"' .. id .. '-1"'})
  end
  return wrk.format("GET", "/api/v1/books/" .. id)
end

done = function(summary, latency, requests)
  io.write(string.format(
    '{"requests": %d, "seconds": %f, "p50_us": %d, "p99_us": %d, "non_2xx": %d, "errors": %d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(99),
    summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.timeout))
end
