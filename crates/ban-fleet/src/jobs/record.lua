-- Records what one delivery of a batch did, and acknowledges it, in one
-- atomic step: a batch delivered twice is counted once. Every key is the
-- job's (one hash tag, one Cluster slot).
--
-- KEYS[1] the job's stream     KEYS[2] the job's hash
-- KEYS[3] members done (set)   KEYS[4] members failed (hash: member -> JSON)
-- ARGV[1] consumer group       ARGV[2] the entry id
-- ARGV[3] 1 to acknowledge (the batch is finished), 0 to record the
--         members done so far and leave the batch pending (redelivered)
-- ARGV[4] JSON array of members done
-- ARGV[5] JSON array of failures: {"member", "code", "reason", "random"}
-- ARGV[6] calls made, ARGV[7] retries made, ARGV[8] 60007 answers
-- ARGV[9] now (ms)
-- ARGV[10] the name of the running state, ARGV[11] of the done state
-- ARGV[12] the worker recording (consumer name): a batch with members done
--          stamps the job's last success (Redis time) and who made it
-- ARGV[13] milliseconds the batch's calls waited for permits
-- ARGV[14] when the worker took the batch (ms): the job's first_taken_ms
--          is the earliest, where its calls per second are counted from
--
-- Returns 1 when recorded, 2 when recorded and the job is now done, 0
-- when the entry was already acknowledged, -1 when the job is gone (its
-- hash no longer exists).
if redis.call('EXISTS', KEYS[2]) == 0 then
  return -1
end
if ARGV[3] == '1' then
  if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then
    return 0
  end
end
local done = cjson.decode(ARGV[4])
for _, m in ipairs(done) do
  redis.call('SADD', KEYS[3], m)
  redis.call('HDEL', KEYS[4], m)
end
if #done > 0 then
  local t = redis.call('TIME')
  redis.call('HSET', KEYS[2], 'last_ok_ms', string.format('%.0f', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)))
  redis.call('HSET', KEYS[2], 'last_ok_by', ARGV[12])
end
if ARGV[3] == '1' then
  for _, f in ipairs(cjson.decode(ARGV[5])) do
    if redis.call('SISMEMBER', KEYS[3], f.member) == 0 then
      redis.call('HSET', KEYS[4], f.member, cjson.encode(f))
    end
  end
end
redis.call('HINCRBY', KEYS[2], 'calls', tonumber(ARGV[6]))
redis.call('HINCRBY', KEYS[2], 'retries', tonumber(ARGV[7]))
redis.call('HINCRBY', KEYS[2], 'rate_limited', tonumber(ARGV[8]))
redis.call('HINCRBY', KEYS[2], 'permit_wait_ms', tonumber(ARGV[13]))
local first = redis.call('HGET', KEYS[2], 'first_taken_ms')
if tonumber(ARGV[6]) > 0 and (not first or tonumber(ARGV[14]) < tonumber(first)) then
  redis.call('HSET', KEYS[2], 'first_taken_ms', ARGV[14])
end
local total = tonumber(redis.call('HGET', KEYS[2], 'total') or '0')
local finished = redis.call('SCARD', KEYS[3]) + redis.call('HLEN', KEYS[4])
if finished >= total and redis.call('HGET', KEYS[2], 'state') == ARGV[10] then
  redis.call('HSET', KEYS[2], 'state', ARGV[11])
  redis.call('HSET', KEYS[2], 'finished_ms', ARGV[9])
  return 2
end
return 1
