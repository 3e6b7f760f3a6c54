-- wrk script: POST photos to /api/v1/identify as image/jpeg, over and over.
-- PHOTOS names a text file of JPEG paths, one a line, which each connection cycles through
-- (starting at a different one); PHOTO names a single JPEG to post every time.
-- benchmarks/e2e.sh sets PHOTOS to the ds1000 test photos. Any non-2xx answer shows in the
-- summary's "non-2xx" count (the photos are valid, so it would be a server error); the
-- server's access log names the statuses.
local function read_file(path)
  local file = assert(io.open(path, "rb"), "cannot read " .. path)
  local body = file:read("*a")
  file:close()
  return body
end

local bodies = {}
local list = os.getenv("PHOTOS")
if list then
  for path in io.lines(list) do
    if path ~= "" then bodies[#bodies + 1] = read_file(path) end
  end
else
  bodies[1] = read_file(assert(os.getenv("PHOTO"), "set PHOTOS or PHOTO"))
end
assert(#bodies > 0, "no photos to post")

next_photo = 0
local headers = {["Content-Type"] = "image/jpeg"}

function setup(thread)
  thread:set("next_photo", math.random(0, #bodies - 1))
end

function request()
  next_photo = next_photo + 1
  return wrk.format("POST", "/api/v1/identify", headers, bodies[next_photo % #bodies + 1])
end

function done(summary, latency, requests)
  io.write(string.format("p50 %.1f ms, p99 %.1f ms, %d requests, %.2f requests/s (photos %d)\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.requests,
    summary.requests / (summary.duration / 1e6), #bodies))
  io.write(string.format("errors: connect %d, read %d, write %d, timeout %d, non-2xx %d\n",
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout,
    summary.errors.status))
end
