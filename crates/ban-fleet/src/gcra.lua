-- One permit request on the shared schedule of one (SDKAppID, command),
-- in one of three lanes (0 urgent, 1 normal, 2 bulk).
--
-- KEYS[1]  the schedule, a hash: `tat`, its theoretical arrival time in
--          integer microseconds of Redis's own clock (TIME), never a
--          client's; `next` and `serve`, the bulk lane's tickets (the last
--          one given, the next one to serve) and `serve_at`, when the one
--          to serve last showed it is alive; `s1` and `s2`, permits granted
--          since the normal and the bulk lane last had one
-- ARGV[1]  emission interval T, microseconds (1e6 / calls per second)
-- ARGV[2]  burst tolerance tau, microseconds (T * (burst - 1))
-- ARGV[3]  penalty, microseconds: 0 asks for a permit; more pushes the
--          schedule back to at least now + penalty (a 60007 arrived)
-- ARGV[4]  the lane
-- ARGV[5]  the lane's horizon, microseconds: a permit is reserved only if
--          its slot is at most this far ahead; beyond it the caller waits
--          unreserved, so that a caller of a more urgent lane (a longer
--          horizon) who comes later takes the slot first
-- ARGV[6]  the caller's bulk ticket (0: take one)
-- ARGV[7]  how long the bulk ticket to serve may stay silent before later
--          tickets pass it (its caller gave up or died), microseconds
-- ARGV[8]  the floor: a lane granted nothing through this many - 1
--          permits of others is granted one, horizon or not
--
-- Returns {granted, wait, ahead, ticket}: granted 1 with how long to wait
-- before sending, or 0 with how long to wait before asking again; how far
-- ahead of now the schedule reaches; the caller's bulk ticket. Bulk callers
-- are served in ticket order (arrival order across the fleet), urgent and
-- normal ones in the order their requests reach Redis.
--
-- Numbers stay integers: microseconds since 1970 (about 1.8e15) are exact
-- in Lua's doubles (below 2^53), and are written with %.0f, since
-- tostring() would print them in exponent form and lose digits.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local penalty = tonumber(ARGV[3])
local lane = tonumber(ARGV[4])
local horizon = tonumber(ARGV[5])
local ticket = tonumber(ARGV[6])
local skip = tonumber(ARGV[7])
local floor = tonumber(ARGV[8])

local h = redis.call('HMGET', KEYS[1], 'tat', 'next', 'serve', 'serve_at', 's1', 's2')
local tat = tonumber(h[1]) or 0
if tat < now then
  tat = now
end
local nxt = tonumber(h[2]) or 0
local serve = tonumber(h[3]) or 1
local serve_at = tonumber(h[4]) or now
local since = {tonumber(h[5]) or 0, tonumber(h[6]) or 0}

local function save()
  -- The schedule outlives its TAT by a minute, so the tickets of callers
  -- still waiting are kept; an idle schedule then costs nothing.
  local ttl_ms = math.floor((tat - now) / 1000) + 60000
  redis.call('HSET', KEYS[1], 'tat', string.format('%.0f', tat), 'next', string.format('%.0f', nxt),
    'serve', string.format('%.0f', serve), 'serve_at', string.format('%.0f', serve_at),
    's1', since[1], 's2', since[2])
  redis.call('PEXPIRE', KEYS[1], ttl_ms)
end

if penalty > 0 then
  if now + penalty > tat then
    tat = now + penalty
  end
  save()
  return {0, 0, math.floor(tat - now), 0}
end

if lane == 2 and ticket == 0 then
  nxt = nxt + 1
  ticket = nxt
end
local slot = tat - tolerance
if slot < now then
  slot = now
end
local fits = slot - now <= horizon
local owed = lane > 0 and since[lane] >= floor - 1
local turn = true
if lane == 2 then
  if ticket == serve then
    serve_at = now
  end
  turn = ticket <= serve or now - serve_at >= skip
end

if (fits or owed) and turn then
  tat = tat + interval
  for l = 1, 2 do
    if l == lane then
      since[l] = 0
    else
      since[l] = since[l] + 1
    end
  end
  if lane == 2 then
    if ticket >= serve then
      serve = ticket + 1
    end
    serve_at = now
  end
  save()
  return {1, math.floor(slot - now), math.floor(tat - now), ticket}
end

-- Refused: when to ask again. Until the slot is within the horizon, and
-- for a bulk ticket until its turn can have come; the ticket to serve asks
-- at least every skip / 2, so that it is not taken for gone.
local retry = 0
if not fits then
  retry = slot - horizon - now
end
if lane == 2 then
  local turn_in = (ticket - serve) * interval
  if turn_in > retry then
    retry = turn_in
  end
  if ticket == serve and retry > skip / 2 then
    retry = skip / 2
  end
end
if retry < 200 then
  retry = 200
end
save()
return {0, math.floor(retry), math.floor(tat - now), ticket}
