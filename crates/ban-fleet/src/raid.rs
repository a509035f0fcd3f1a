//! Raid mode shared by the instances of one app: per group, the joins of
//! the window, whether raid mode is on (since when, the last surge, the
//! messages refused), the cohort of newcomers, and a stream of the
//! newcomers as they were added, so an instance can follow it from where
//! it left off. Every key carries the app's hash tag, so a Cluster keeps
//! them on one node; each key expires a minute after the raid would end,
//! so a raid nobody ends is gone by itself. Redis's own clock judges the
//! windows, whichever instance asks.

use std::time::Duration;

use redis::AsyncCommands;

use crate::conn::{Conn, RedisAddr};
use crate::setup::RedisSetupError;

/// Raid mode shared through Redis.
#[derive(Clone)]
pub struct RaidBoard {
    conn: Conn,
    /// `{key_prefix:raid:sdkappid}`: the hash tag of every key.
    base: String,
    joined: redis::Script,
    end: redis::Script,
    refused: redis::Script,
    mark: redis::Script,
}

impl std::fmt::Debug for RaidBoard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RaidBoard")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

/// What the board said of joins (or of forcing raid mode on).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Joined {
    /// These joins tripped raid mode: this caller acts on the trip.
    pub tripped: bool,
    /// Joins within the window, every instance's.
    pub joins: u64,
    /// Whether raid mode is on.
    pub on: bool,
    /// Newcomers in the cohort.
    pub cohort: u64,
    /// The accounts these joins added to the cohort (on a trip, the
    /// window's joiners): this caller mutes them, when the rules say so.
    pub added: Vec<String>,
}

/// A raid on the board.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BoardRaid {
    /// The group.
    pub group: String,
    /// When it tripped (Redis's clock, Unix ms).
    pub since_ms: u64,
    /// The last surge (Unix ms): it ends `quiet` after this.
    pub surge_ms: u64,
    /// Messages refused, every instance's.
    pub refused: u64,
    /// Newcomers in the cohort.
    pub cohort: u64,
    /// An instance acts (or acted) on it: froze, muted as the rules say.
    pub acted: bool,
    /// The room was frozen for it.
    pub frozen: bool,
}

/// A raid the board ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Ended {
    /// Newcomers it held.
    pub cohort: u64,
    /// Messages refused, every instance's.
    pub refused: u64,
    /// How long it lasted, in ms.
    pub lasted_ms: u64,
    /// An instance froze the room for it: the caller that ended it thaws.
    pub frozen: bool,
}

const NOW: &str =
    "local t = redis.call('TIME')\nlocal now = t[1] * 1000 + math.floor(t[2] / 1000)\n";

/// KEYS: groups, state, joins, cohort, newcomers. ARGV: group, count,
/// per_ms, quiet_ms, cap, claim (the caller acts on a trip), accounts...
const JOINED: &str = r"
local group, count, per = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local quiet, cap = tonumber(ARGV[4]), tonumber(ARGV[5])
for i = 7, #ARGV do redis.call('ZADD', KEYS[3], now, ARGV[i]) end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - per)
local n = redis.call('ZCARD', KEYS[3])
if n > 0 then redis.call('PEXPIRE', KEYS[3], per + 1000) end
local on = redis.call('EXISTS', KEYS[2]) == 1
local tripped = 0
local fresh = {}
if on then
  if n >= count then redis.call('HSET', KEYS[2], 'surge', now) end
  for i = 7, #ARGV do fresh[#fresh + 1] = ARGV[i] end
elseif n >= count then
  redis.call('HSET', KEYS[2], 'since', now, 'surge', now, 'refused', 0)
  if ARGV[6] == '1' then redis.call('HSET', KEYS[2], 'acted', 1) end
  redis.call('SADD', KEYS[1], group)
  fresh = redis.call('ZRANGE', KEYS[3], 0, -1)
  tripped = 1
  on = true
end
local added = {}
if on then
  local size = redis.call('SCARD', KEYS[4])
  for _, a in ipairs(fresh) do
    if size < cap and redis.call('SADD', KEYS[4], a) == 1 then
      size = size + 1
      added[#added + 1] = a
    end
  end
  if #added > 0 then redis.call('XADD', KEYS[5], '*', 'a', table.concat(added, '\n')) end
  local ttl = tonumber(redis.call('HGET', KEYS[2], 'surge')) + quiet + 60000 - now
  redis.call('PEXPIRE', KEYS[2], ttl)
  if size > 0 then
    redis.call('PEXPIRE', KEYS[4], ttl)
    redis.call('PEXPIRE', KEYS[5], ttl)
  end
end
return {tripped, n, on and 1 or 0, redis.call('SCARD', KEYS[4]), added}
";

/// KEYS: groups, state, cohort, newcomers. ARGV: group, quiet_ms, force.
const END: &str = r"
local s = redis.call('HMGET', KEYS[2], 'since', 'surge', 'refused', 'frozen')
if not s[1] then
  redis.call('SREM', KEYS[1], ARGV[1])
  return false
end
if ARGV[3] ~= '1' and now - tonumber(s[2]) < tonumber(ARGV[2]) then return false end
local cohort = redis.call('SCARD', KEYS[3])
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])
redis.call('SREM', KEYS[1], ARGV[1])
return {cohort, tonumber(s[3] or '0'), now - tonumber(s[1]), s[4] and 1 or 0}
";

/// KEYS: state. ARGV: count.
const REFUSED: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.call('HINCRBY', KEYS[1], 'refused', ARGV[1])
end
return 0
";

/// KEYS: state. ARGV: field. Sets it if the raid is on and it is not set.
const MARK: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.call('HSETNX', KEYS[1], ARGV[1], 1)
end
return 0
";

/// One group's keys.
struct Keys {
    groups: String,
    state: String,
    joins: String,
    cohort: String,
    newcomers: String,
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

impl RaidBoard {
    /// Connects to `redis` (checked as the limiter checks it); keys are
    /// `{key_prefix:raid:sdkappid}:...`.
    pub async fn connect(
        redis: &RedisAddr,
        key_prefix: &str,
        sdkappid: u64,
    ) -> Result<RaidBoard, crate::FleetError> {
        crate::config::check_key_prefix(key_prefix)?;
        let timeout = Duration::from_secs(2);
        let mut conn = Conn::open(redis, timeout, timeout, 2).await?;
        let base = format!("{{{key_prefix}:raid:{sdkappid}}}");
        crate::setup::probe(&mut conn, &format!("{base}:check")).await?;
        Ok(RaidBoard {
            conn,
            base,
            joined: redis::Script::new(&format!("{NOW}{JOINED}")),
            end: redis::Script::new(&format!("{NOW}{END}")),
            refused: redis::Script::new(REFUSED),
            mark: redis::Script::new(MARK),
        })
    }

    fn keys(&self, group: &str) -> Keys {
        let g = format!("{}:g:{group}", self.base);
        Keys {
            groups: format!("{}:groups", self.base),
            state: format!("{g}:state"),
            joins: format!("{g}:joins"),
            cohort: format!("{g}:cohort"),
            newcomers: format!("{g}:newcomers"),
        }
    }

    /// `accounts` joined `group`: counted in the window `per`; raid mode
    /// trips at `count` joins within it, a surge while it is on keeps it
    /// on for `quiet` more, and newcomers join the cohort (up to `cap`).
    pub async fn joined(
        &self,
        group: &str,
        accounts: &[&str],
        (count, per): (u64, Duration),
        quiet: Duration,
        cap: usize,
    ) -> Result<Joined, RedisSetupError> {
        self.join_or_force(group, accounts, (count, per), quiet, cap, true)
            .await
    }

    async fn join_or_force(
        &self,
        group: &str,
        accounts: &[&str],
        (count, per): (u64, Duration),
        quiet: Duration,
        cap: usize,
        claim: bool,
    ) -> Result<Joined, RedisSetupError> {
        let k = self.keys(group);
        let mut inv = self.joined.prepare_invoke();
        inv.key(&k.groups)
            .key(&k.state)
            .key(&k.joins)
            .key(&k.cohort)
            .key(&k.newcomers)
            .arg(group)
            .arg(count)
            .arg(ms(per))
            .arg(ms(quiet))
            .arg(cap)
            .arg(if claim { "1" } else { "0" });
        for a in accounts {
            inv.arg(*a);
        }
        let mut conn = self.conn.clone();
        let (tripped, joins, on, cohort, added): (u8, u64, u8, u64, Vec<String>) = inv
            .invoke_async(&mut conn)
            .await
            .map_err(RedisSetupError::classify)?;
        Ok(Joined {
            tripped: tripped == 1,
            joins,
            on: on == 1,
            cohort,
            added,
        })
    }

    /// Forces raid mode on in `group`, its cohort the window's joiners:
    /// `tripped` unless it was on already. With `claim`, the caller acts
    /// on the trip; without, the first instance to [`RaidBoard::claim`] it
    /// does (`banctl raid on`).
    pub async fn force_on(
        &self,
        group: &str,
        per: Duration,
        quiet: Duration,
        cap: usize,
        claim: bool,
    ) -> Result<Joined, RedisSetupError> {
        self.join_or_force(group, &[], (0, per), quiet, cap, claim)
            .await
    }

    /// Claims the acting on a raid forced on without a claim: true for the
    /// one caller that gets it, while the raid is on.
    pub async fn claim(&self, group: &str) -> Result<bool, RedisSetupError> {
        self.mark(group, "acted").await
    }

    /// Notes that the room was frozen for `group`'s raid, so whichever
    /// caller ends it thaws it.
    pub async fn frozen(&self, group: &str) -> Result<(), RedisSetupError> {
        self.mark(group, "frozen").await.map(|_| ())
    }

    async fn mark(&self, group: &str, field: &str) -> Result<bool, RedisSetupError> {
        let set: u8 = self.on_state(&self.mark, group, field).await?;
        Ok(set == 1)
    }

    /// Runs `script` on `group`'s state with one argument.
    async fn on_state<T: redis::FromRedisValue>(
        &self,
        script: &redis::Script,
        group: &str,
        arg: impl redis::ToRedisArgs,
    ) -> Result<T, RedisSetupError> {
        let mut conn = self.conn.clone();
        script
            .key(self.keys(group).state)
            .arg(arg)
            .invoke_async(&mut conn)
            .await
            .map_err(RedisSetupError::classify)
    }

    /// Ends raid mode in `group` when it has been quiet for `quiet` (or at
    /// once, `force`): the raid, for the one caller that ended it.
    pub async fn end(
        &self,
        group: &str,
        quiet: Duration,
        force: bool,
    ) -> Result<Option<Ended>, RedisSetupError> {
        let k = self.keys(group);
        let mut conn = self.conn.clone();
        let out: Option<(u64, u64, u64, u8)> = self
            .end
            .key(&k.groups)
            .key(&k.state)
            .key(&k.cohort)
            .key(&k.newcomers)
            .arg(group)
            .arg(ms(quiet))
            .arg(if force { "1" } else { "0" })
            .invoke_async(&mut conn)
            .await
            .map_err(RedisSetupError::classify)?;
        Ok(out.map(|(cohort, refused, lasted_ms, frozen)| Ended {
            cohort,
            refused,
            lasted_ms,
            frozen: frozen == 1,
        }))
    }

    /// Adds `count` refusals to `group`'s raid, while it is on.
    pub async fn add_refused(&self, group: &str, count: u64) -> Result<(), RedisSetupError> {
        let _: u64 = self.on_state(&self.refused, group, count).await?;
        Ok(())
    }

    /// Every raid on the board, by group.
    pub async fn raids(&self) -> Result<Vec<BoardRaid>, RedisSetupError> {
        let mut conn = self.conn.clone();
        let groups: Vec<String> = conn
            .smembers(format!("{}:groups", self.base))
            .await
            .map_err(RedisSetupError::classify)?;
        let mut out = Vec::with_capacity(groups.len());
        for group in groups {
            let k = self.keys(&group);
            type State = (
                Option<u64>,
                Option<u64>,
                Option<u64>,
                Option<u8>,
                Option<u8>,
            );
            let (state, cohort): (State, u64) = redis::pipe()
                .cmd("HMGET")
                .arg(&k.state)
                .arg("since")
                .arg("surge")
                .arg("refused")
                .arg("acted")
                .arg("frozen")
                .scard(&k.cohort)
                .query_async(&mut conn)
                .await
                .map_err(RedisSetupError::classify)?;
            if let (Some(since_ms), Some(surge_ms), refused, acted, frozen) = state {
                out.push(BoardRaid {
                    group,
                    since_ms,
                    surge_ms,
                    refused: refused.unwrap_or(0),
                    cohort,
                    acted: acted.is_some(),
                    frozen: frozen.is_some(),
                });
            }
        }
        out.sort_by(|a, b| a.group.cmp(&b.group));
        Ok(out)
    }

    /// Newcomers added to `group`'s cohort after the stream id `after`
    /// (`"0"` from the start), at most `count` entries of them: the
    /// accounts and the id to go on from.
    pub async fn newcomers(
        &self,
        group: &str,
        after: &str,
        count: usize,
    ) -> Result<(Vec<String>, String), RedisSetupError> {
        let mut conn = self.conn.clone();
        let start = if after == "0" {
            "-".to_owned()
        } else {
            format!("({after}")
        };
        let reply: redis::streams::StreamRangeReply = conn
            .xrange_count(self.keys(group).newcomers, start, "+", count.max(1))
            .await
            .map_err(RedisSetupError::classify)?;
        let mut last = after.to_owned();
        let mut accounts = Vec::new();
        for e in reply.ids {
            if let Some(text) = e.get::<String>("a") {
                accounts.extend(text.split('\n').map(str::to_owned));
            }
            last = e.id;
        }
        Ok((accounts, last))
    }

    /// Whether `account` is in `group`'s cohort.
    pub async fn is_newcomer(&self, group: &str, account: &str) -> Result<bool, RedisSetupError> {
        let mut conn = self.conn.clone();
        conn.sismember(self.keys(group).cohort, account)
            .await
            .map_err(RedisSetupError::classify)
    }
}
