//! The record script's seam, typed (the redis-rs `Script` idiom): what one
//! delivery of a batch did goes in as one [`Delivery`] (its arguments,
//! the job hash's field names from [`F`] included, written in one place),
//! and the script's answer comes back as a [`Recorded`].

use ban_facade::{FailedMember, JobState};
use redis::{FromRedisValue, ParsingError, RedisWrite, ToRedisArgs, Value};

use super::clock::now_ms;
use super::error::JobError;
use super::keys::{JobKeys, GROUP};
use super::meta::F;

/// What a batch's calls cost.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Counts {
    pub(crate) calls: u64,
    pub(crate) retries: u64,
    pub(crate) rate_limited: u64,
    pub(crate) permit_wait_ms: u64,
}

/// One delivery of a batch, as the script takes it.
#[derive(Debug)]
pub(crate) struct Delivery<'a> {
    entry: &'a str,
    /// The batch is finished: acknowledge it (else it stays pending).
    ack: bool,
    done: String,
    failed: String,
    counts: Counts,
    worker: &'a str,
    taken_ms: u64,
}

impl<'a> Delivery<'a> {
    /// The members done and failed encoded; an encode failure is
    /// [`JobError::Encode`].
    /// Entry `entry` of a batch `worker` took at `taken_ms`.
    pub(crate) fn new(
        entry: &'a str,
        taken_ms: u64,
        worker: &'a str,
        ack: bool,
        done: &[String],
        failed: &[FailedMember],
        counts: Counts,
    ) -> Result<Self, JobError> {
        let encode = |source| JobError::Encode {
            what: "a batch's outcome",
            source,
        };
        Ok(Delivery {
            entry,
            ack,
            done: serde_json::to_string(done).map_err(encode)?,
            failed: serde_json::to_string(failed).map_err(encode)?,
            counts,
            worker,
            taken_ms,
        })
    }
}

/// The job hash's fields the script writes or reads, in the order it
/// takes them (after the delivery's own 14 arguments).
const FIELDS: [&str; 10] = [
    F::LAST_OK_MS,
    F::LAST_OK_BY,
    F::CALLS,
    F::RETRIES,
    F::RATE_LIMITED,
    F::PERMIT_WAIT_MS,
    F::FIRST_TAKEN_MS,
    F::TOTAL,
    F::STATE,
    F::FINISHED_MS,
];

impl ToRedisArgs for Delivery<'_> {
    fn write_redis_args<W: ?Sized + RedisWrite>(&self, out: &mut W) {
        let c = &self.counts;
        out.write_arg(GROUP.as_bytes());
        out.write_arg(self.entry.as_bytes());
        out.write_arg(if self.ack { b"1" } else { b"0" });
        out.write_arg(self.done.as_bytes());
        out.write_arg(self.failed.as_bytes());
        for n in [
            c.calls,
            c.retries,
            c.rate_limited,
            c.permit_wait_ms,
            now_ms(),
        ] {
            out.write_arg_fmt(n);
        }
        out.write_arg(JobState::Running.as_str().as_bytes());
        out.write_arg(JobState::Done.as_str().as_bytes());
        out.write_arg(self.worker.as_bytes());
        out.write_arg_fmt(self.taken_ms);
        for f in FIELDS {
            out.write_arg(f.as_bytes());
        }
    }
}

/// What the script did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Recorded {
    /// The job is gone (its hash no longer exists): nothing recorded.
    Gone,
    /// The entry was acknowledged already (a repeated delivery): nothing
    /// counted twice.
    Repeated,
    /// Recorded.
    Counted,
    /// Recorded, and the job is now done.
    Finished,
}

impl FromRedisValue for Recorded {
    fn from_redis_value(v: Value) -> Result<Self, ParsingError> {
        match v {
            Value::Int(-1) => Ok(Recorded::Gone),
            Value::Int(0) => Ok(Recorded::Repeated),
            Value::Int(1) => Ok(Recorded::Counted),
            Value::Int(2) => Ok(Recorded::Finished),
            other => Err(format!("the record script answered {other:?}, not -1, 0, 1 or 2").into()),
        }
    }
}

/// The record script, loaded once per worker.
#[derive(Debug)]
pub(crate) struct Recorder(redis::Script);

impl Recorder {
    pub(crate) fn new() -> Self {
        Recorder(redis::Script::new(include_str!("record.lua")))
    }

    /// Records `delivery` of a batch of the job at `keys`.
    pub(crate) async fn record(
        &self,
        conn: &mut crate::conn::Conn,
        keys: &JobKeys,
        delivery: &Delivery<'_>,
    ) -> Result<Recorded, JobError> {
        Ok(self
            .0
            .key(&keys.stream)
            .key(&keys.hash)
            .key(&keys.done)
            .key(&keys.failed)
            .arg(delivery)
            .invoke_async(conn)
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delivery_writes_fourteen_arguments_then_the_field_names() {
        let counts = Counts {
            calls: 3,
            retries: 1,
            rate_limited: 0,
            permit_wait_ms: 7,
        };
        let d = Delivery::new("1-0", 42, "w", true, &["a".into()], &[], counts).unwrap();
        let args: Vec<String> = d
            .to_redis_args()
            .into_iter()
            .map(|a| String::from_utf8(a).unwrap())
            .collect();
        assert_eq!(args.len(), 14 + FIELDS.len());
        assert_eq!(&args[..6], ["workers", "1-0", "1", "[\"a\"]", "[]", "3"]);
        assert_eq!(args[8], "7");
        assert_eq!(args[13], "42");
        assert_eq!(args[14], F::LAST_OK_MS);
        assert_eq!(args[22], F::STATE);
    }

    #[test]
    fn only_the_four_answers_are_read() {
        assert_eq!(
            Recorded::from_redis_value(Value::Int(2)).unwrap(),
            Recorded::Finished
        );
        assert_eq!(
            Recorded::from_redis_value(Value::Int(-1)).unwrap(),
            Recorded::Gone
        );
        assert!(Recorded::from_redis_value(Value::Int(3)).is_err());
        assert!(Recorded::from_redis_value(Value::Nil).is_err());
    }
}
