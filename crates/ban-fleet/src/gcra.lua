-- One GCRA reservation on the shared schedule of one (SDKAppID, command).
--
-- KEYS[1]  the schedule: its theoretical arrival time (TAT), in integer
--          microseconds of Redis's own clock (TIME), never a client's
-- ARGV[1]  emission interval T, microseconds (1e6 / calls per second)
-- ARGV[2]  burst tolerance tau, microseconds (T * (burst - 1))
-- ARGV[3]  penalty, microseconds: 0 reserves a slot; more pushes the
--          schedule back to at least now + penalty (a 60007 arrived)
--
-- Returns {wait, ahead}: how long the caller must wait before sending, and
-- how far ahead of now the fleet's schedule reaches (its TAT), both in
-- microseconds. A process that loses Redis starts its local share only
-- after the furthest schedule it has seen, so the slots the fleet already
-- reserved and the local shares never add up past the budget.
-- Every caller gets a slot (a reservation, not a yes/no): callers are
-- served in the order their reservations reach Redis, in one round trip.
--
-- Numbers stay integers: microseconds since 1970 (about 1.8e15) are exact
-- in Lua's doubles (below 2^53), and are written with %.0f, since
-- tostring() would print them in exponent form and lose digits.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local penalty = tonumber(ARGV[3])

local tat = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if tat < now then
  tat = now
end

local wait = 0
if penalty > 0 then
  if now + penalty > tat then
    tat = now + penalty
  end
else
  local slot = tat - tolerance
  if slot < now then
    slot = now
  end
  wait = slot - now
  tat = tat + interval
end

-- The key lives until just after its TAT: an idle schedule costs nothing.
local ttl_ms = math.floor((tat - now) / 1000) + 1000
redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', ttl_ms)
return {math.floor(wait), math.floor(tat - now)}
