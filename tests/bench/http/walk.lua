-- Walks a pre-built request list once: thread k of n sends lines k, k+n, k+2n, ...
-- of $BENCH_REQUESTS and never repeats one; when its share runs out it stops (and
-- the run reports "exhausted", because wrk still divides by the full duration).
--
-- A line is: method TAB path TAB headers TAB body, headers "Name: value" joined by
-- the unit separator (\31). Every request carries X-Request-ID; the ids the server
-- echoes on 2xx answers are collected, so the harness can hold the database to
-- exactly the requests that succeeded. done() writes JSON to $BENCH_RESULT.

local threads = {}
local thread_count = 0

function setup(thread)
  thread:set("thread_index", thread_count)
  thread_count = thread_count + 1
  table.insert(threads, thread)
end

local requests = {}
local position = 0
issued = 0
exhausted = false
statuses = {}
ok_ids = {}

function init(args)
  local share = tonumber(os.getenv("BENCH_THREADS"))
  local index = 0
  for line in io.lines(os.getenv("BENCH_REQUESTS")) do
    if index % share == thread_index then
      local method, path, header_text, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
      local headers = {}
      for name, value in header_text:gmatch("([^\31:]+): ([^\31]*)") do
        headers[name] = value
      end
      if body == "" then body = nil end
      requests[#requests + 1] = wrk.format(method, path, headers, body)
    end
    index = index + 1
  end
end

function request()
  position = position + 1
  local next_request = requests[position]
  if next_request == nil then
    exhausted = true
    wrk.thread:stop()
    return ""
  end
  issued = issued + 1
  return next_request
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status >= 200 and status < 300 then
    local id = headers["X-Request-ID"] or headers["x-request-id"]
    if id then ok_ids[#ok_ids + 1] = id end
  end
end

local function quoted(text)
  return '"' .. tostring(text):gsub('[%c"\\]', "") .. '"'
end

function done(summary, latency, _requests)
  local total_issued, any_exhausted, codes, ids = 0, false, {}, {}
  for _, thread in ipairs(threads) do
    total_issued = total_issued + thread:get("issued")
    any_exhausted = any_exhausted or thread:get("exhausted")
    for status, count in pairs(thread:get("statuses")) do
      codes[status] = (codes[status] or 0) + count
    end
    for _, id in ipairs(thread:get("ok_ids")) do
      ids[#ids + 1] = quoted(id)
    end
  end
  local status_parts = {}
  for status, count in pairs(codes) do
    status_parts[#status_parts + 1] = quoted(status) .. ": " .. count
  end
  local errors = summary.errors
  local out = assert(io.open(os.getenv("BENCH_RESULT"), "w"))
  out:write("{",
    '"responses": ', summary.requests, ", ",
    '"duration_us": ', summary.duration, ", ",
    '"errors": {"connect": ', errors.connect, ', "read": ', errors.read,
    ', "write": ', errors.write, ', "status": ', errors.status,
    ', "timeout": ', errors.timeout, "}, ",
    '"latency_us": {"p50": ', latency:percentile(50), ', "p90": ', latency:percentile(90),
    ', "p99": ', latency:percentile(99), ', "max": ', latency.max,
    ', "mean": ', latency.mean, "}, ",
    '"issued": ', total_issued, ", ",
    '"exhausted": ', tostring(any_exhausted), ", ",
    '"statuses": {', table.concat(status_parts, ", "), "}, ",
    '"ok_ids": [', table.concat(ids, ", "), "]",
    "}\n")
  out:close()
end
