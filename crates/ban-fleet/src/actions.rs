//! A stream of decided actions shared by every instance of an app: each
//! one added before it is acted on, read by one instance (a consumer of
//! the stream's group), and deleted once done. An instance that dies with
//! actions read and not done leaves them pending; another takes them once
//! they have been idle long enough, and the instance itself, started again
//! under its consumer name, reads its own pending ones first.
//!
//! The payloads are opaque text (the moderation loop's JSON records).

use std::time::Duration;

use redis::streams::{
    StreamAutoClaimOptions, StreamAutoClaimReply, StreamClaimOptions, StreamReadOptions,
    StreamReadReply,
};
use redis::AsyncCommands;

use crate::conn::{Conn, RedisAddr};
use crate::setup::RedisSetupError;

/// The consumer group every instance reads in.
const GROUP: &str = "serve";
/// The payload's field.
const FIELD: &str = "a";

/// One action as read: its stream id and payload.
pub type Entry = (String, String);

/// The decided actions of one app in Redis
/// (`{key_prefix}:actions:{sdkappid}`, a stream).
#[derive(Clone)]
pub struct ActionStream {
    conn: Conn,
    /// A connection of its own for blocking reads, so they never hold up
    /// adds and acknowledgements.
    reader: Conn,
    key: String,
    consumer: String,
}

impl std::fmt::Debug for ActionStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActionStream")
            .field("key", &self.key)
            .field("consumer", &self.consumer)
            .finish_non_exhaustive()
    }
}

/// How long a blocking read waits for new actions.
pub const READ_BLOCK: Duration = Duration::from_millis(500);

fn payloads(ids: Vec<redis::streams::StreamId>) -> Vec<Entry> {
    ids.into_iter()
        .filter_map(|e| {
            let text: Option<String> = e.get(FIELD);
            text.map(|t| (e.id, t))
        })
        .collect()
}

impl ActionStream {
    /// Connects as `consumer` (a name that stays the instance's across
    /// restarts, so it finds its own pending actions): Redis checked as the
    /// limiter checks it, and refused unless it logs every write
    /// (`appendonly yes`): a decided action must survive a Redis restart.
    pub async fn connect(
        redis: &RedisAddr,
        key_prefix: &str,
        sdkappid: u64,
        consumer: &str,
    ) -> Result<ActionStream, crate::FleetError> {
        crate::config::check_key_prefix(key_prefix)?;
        let timeout = Duration::from_secs(2);
        let mut conn = Conn::open(redis, timeout, timeout, 2).await?;
        let key = format!("{key_prefix}:actions:{sdkappid}");
        crate::setup::probe(&mut conn, &format!("{key}:check")).await?;
        crate::setup::check_durable(&mut conn).await?;
        let created: redis::RedisResult<()> = conn.xgroup_create_mkstream(&key, GROUP, "0").await;
        if let Err(e) = created {
            if e.code() != Some("BUSYGROUP") {
                return Err(RedisSetupError::classify(e).into());
            }
        }
        // A read blocks up to READ_BLOCK: its answers may take that long.
        let reader = Conn::open(redis, timeout, timeout + READ_BLOCK, 2).await?;
        Ok(ActionStream {
            conn,
            reader,
            key,
            consumer: consumer.to_owned(),
        })
    }

    /// Adds one action; returns its id.
    pub async fn add(&self, payload: &str) -> Result<String, RedisSetupError> {
        let mut conn = self.conn.clone();
        conn.xadd(&self.key, "*", &[(FIELD, payload)])
            .await
            .map_err(RedisSetupError::classify)
    }

    /// This consumer's own pending actions (read before a restart and not
    /// done), at most `count` after `after` (`"0"` to start).
    pub async fn own_pending(
        &self,
        after: &str,
        count: usize,
    ) -> Result<Vec<Entry>, RedisSetupError> {
        self.read_from(after, count, None).await
    }

    /// New actions, at most `count`, waiting up to [`READ_BLOCK`] for one.
    pub async fn read_new(&self, count: usize) -> Result<Vec<Entry>, RedisSetupError> {
        self.read_from(">", count, Some(READ_BLOCK)).await
    }

    async fn read_from(
        &self,
        id: &str,
        count: usize,
        block: Option<Duration>,
    ) -> Result<Vec<Entry>, RedisSetupError> {
        let mut conn = self.reader.clone();
        let mut options = StreamReadOptions::default()
            .group(GROUP, &self.consumer)
            .count(count.max(1));
        if let Some(b) = block {
            options = options.block(b.as_millis() as usize);
        }
        let read: Option<StreamReadReply> = conn
            .xread_options(&[&self.key], &[id], &options)
            .await
            .map_err(RedisSetupError::classify)?;
        Ok(read
            .map(|r| r.keys.into_iter().flat_map(|k| payloads(k.ids)).collect())
            .unwrap_or_default())
    }

    /// Takes over actions another consumer read and has left idle for
    /// `idle` (its instance died), at most `count`.
    pub async fn take_idle(
        &self,
        idle: Duration,
        count: usize,
    ) -> Result<Vec<Entry>, RedisSetupError> {
        let mut conn = self.conn.clone();
        let claimed: StreamAutoClaimReply = conn
            .xautoclaim_options(
                &self.key,
                GROUP,
                &self.consumer,
                idle.as_millis() as u64,
                "0-0",
                StreamAutoClaimOptions::default().count(count.max(1)),
            )
            .await
            .map_err(RedisSetupError::classify)?;
        Ok(payloads(claimed.claimed))
    }

    /// Says the actions of `ids` are still being worked on: their idle
    /// time starts again, so no other instance takes them.
    pub async fn keep(&self, ids: &[String]) -> Result<(), RedisSetupError> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut conn = self.conn.clone();
        let _: redis::Value = conn
            .xclaim_options(
                &self.key,
                GROUP,
                &self.consumer,
                0,
                ids,
                StreamClaimOptions::default().with_justid(),
            )
            .await
            .map_err(RedisSetupError::classify)?;
        Ok(())
    }

    /// Keeps a note with each action of `notes` (stream id, text; the
    /// loop's record of what an account had before it), for whichever
    /// instance sends the action again; deleted with the action.
    pub async fn note(&self, notes: &[(String, String)]) -> Result<(), RedisSetupError> {
        if notes.is_empty() {
            return Ok(());
        }
        let mut conn = self.conn.clone();
        conn.hset_multiple::<_, _, _, ()>(self.notes_key(), notes)
            .await
            .map_err(RedisSetupError::classify)
    }

    /// The notes of the actions of `ids`, in their order (`None`: none).
    pub async fn notes(&self, ids: &[String]) -> Result<Vec<Option<String>>, RedisSetupError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.conn.clone();
        redis::cmd("HMGET")
            .arg(self.notes_key())
            .arg(ids)
            .query_async(&mut conn)
            .await
            .map_err(RedisSetupError::classify)
    }

    fn notes_key(&self) -> String {
        format!("{}:notes", self.key)
    }

    /// The actions of `ids` are done: acknowledged and deleted.
    pub async fn done(&self, ids: &[String]) -> Result<(), RedisSetupError> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut conn = self.conn.clone();
        redis::pipe()
            .xack(&self.key, GROUP, ids)
            .ignore()
            .xdel(&self.key, ids)
            .ignore()
            .query_async::<()>(&mut conn)
            .await
            .map_err(RedisSetupError::classify)?;
        // Another key (another slot in a Cluster): a command of its own.
        conn.hdel::<_, _, ()>(self.notes_key(), ids)
            .await
            .map_err(RedisSetupError::classify)
    }
}
