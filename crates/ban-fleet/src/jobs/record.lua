-- Records what one delivery of a batch did, and acknowledges it, in one
-- atomic step: a batch delivered twice is counted once. Every key is the
-- job's (one hash tag, one Cluster slot). The arguments are written by
-- one Rust type (record.rs, `Delivery`), the hash's field names included,
-- and the reply is read by one (`Recorded`).
--
-- KEYS: the job's stream, its hash, members done (set), members failed
-- (hash: member -> JSON).
local stream, hash, done_set, failed_hash = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
-- ack is 1 to acknowledge (the batch is finished), 0 to record the members
-- done so far and leave the batch pending (redelivered). done and failed
-- are JSON arrays (a failure: {"member", "code", "reason", "random"}).
-- taken_ms: when the worker took the batch (ms); the job's first_taken_ms
-- is the earliest, where its calls per second are counted from.
local group, entry, ack, done_json, failed_json,
      calls, retries, rate_limited, permit_wait_ms,
      now_ms, running, finished_state, worker, taken_ms = unpack(ARGV, 1, 14)
-- The job hash's fields, named by the Rust list (meta.rs, `F`).
local F = {
  last_ok_ms = ARGV[15], last_ok_by = ARGV[16], calls = ARGV[17],
  retries = ARGV[18], rate_limited = ARGV[19], permit_wait_ms = ARGV[20],
  first_taken_ms = ARGV[21], total = ARGV[22], state = ARGV[23],
  finished_ms = ARGV[24],
}
-- Replies: -1 the job is gone (its hash no longer exists), 0 the entry
-- was acknowledged already, 1 recorded, 2 recorded and the job is done.
if redis.call('EXISTS', hash) == 0 then
  return -1
end
if ack == '1' then
  if redis.call('XACK', stream, group, entry) == 0 then
    return 0
  end
end
local done = cjson.decode(done_json)
for _, m in ipairs(done) do
  redis.call('SADD', done_set, m)
  redis.call('HDEL', failed_hash, m)
end
if #done > 0 then
  -- The job's last success, in Redis time, and the worker that made it.
  local t = redis.call('TIME')
  redis.call('HSET', hash, F.last_ok_ms, string.format('%.0f', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)))
  redis.call('HSET', hash, F.last_ok_by, worker)
end
if ack == '1' then
  for _, f in ipairs(cjson.decode(failed_json)) do
    if redis.call('SISMEMBER', done_set, f.member) == 0 then
      redis.call('HSET', failed_hash, f.member, cjson.encode(f))
    end
  end
end
redis.call('HINCRBY', hash, F.calls, tonumber(calls))
redis.call('HINCRBY', hash, F.retries, tonumber(retries))
redis.call('HINCRBY', hash, F.rate_limited, tonumber(rate_limited))
redis.call('HINCRBY', hash, F.permit_wait_ms, tonumber(permit_wait_ms))
local first = redis.call('HGET', hash, F.first_taken_ms)
if tonumber(calls) > 0 and (not first or tonumber(taken_ms) < tonumber(first)) then
  redis.call('HSET', hash, F.first_taken_ms, taken_ms)
end
local total = tonumber(redis.call('HGET', hash, F.total) or '0')
local finished = redis.call('SCARD', done_set) + redis.call('HLEN', failed_hash)
if finished >= total and redis.call('HGET', hash, F.state) == running then
  redis.call('HSET', hash, F.state, finished_state)
  redis.call('HSET', hash, F.finished_ms, now_ms)
  return 2
end
return 1
