-- wrk script: POST one photo to /api/v1/identify as image/jpeg, over and over.
-- The photo is named by the PHOTO environment variable (benchmarks/e2e.sh sets it).
-- Any non-2xx answer shows in the summary's "non-2xx" count (the photo is valid, so it
-- would be a server error); the server's access log names the statuses.
local path = os.getenv("PHOTO")
local file = assert(io.open(path, "rb"), "set PHOTO to a JPEG file")
local body = file:read("*a")
file:close()

wrk.method = "POST"
wrk.path = "/api/v1/identify"
wrk.body = body
wrk.headers["Content-Type"] = "image/jpeg"

function done(summary, latency, requests)
  io.write(string.format("p50 %.1f ms, p99 %.1f ms, %d requests, %.2f requests/s\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.requests,
    summary.requests / (summary.duration / 1e6)))
  io.write(string.format("errors: connect %d, read %d, write %d, timeout %d, non-2xx %d\n",
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout,
    summary.errors.status))
end
