//! The stream commands a worker sends: new batches, batches to take over,
//! delivery counts, lease renewals.

use redis::Value;

use super::queue::{JobError, GROUP};
use super::worker::Worker;

impl Worker {
    /// Batches of silent workers (or failed deliveries) older than the lease.
    pub(crate) async fn reclaim(
        &self,
        stream: &str,
        count: usize,
    ) -> Result<Vec<(String, Vec<String>)>, JobError> {
        let mut conn = self.queue.conn.clone();
        let reply: Value = redis::cmd("XAUTOCLAIM")
            .arg(stream)
            .arg(GROUP)
            .arg(&self.config.consumer)
            .arg(self.config.lease.as_millis() as u64)
            .arg("0-0")
            .arg("COUNT")
            .arg(count)
            .query_async(&mut conn)
            .await?;
        let Value::Array(parts) = reply else {
            return Ok(Vec::new());
        };
        Ok(parts.get(1).map(entries_of).unwrap_or_default())
    }

    /// New batches for this worker.
    pub(crate) async fn read_new(
        &self,
        stream: &str,
        count: usize,
    ) -> Result<Vec<(String, Vec<String>)>, JobError> {
        let mut conn = self.queue.conn.clone();
        let reply: Value = redis::cmd("XREADGROUP")
            .arg("GROUP")
            .arg(GROUP)
            .arg(&self.config.consumer)
            .arg("COUNT")
            .arg(count)
            .arg("STREAMS")
            .arg(stream)
            .arg(">")
            .query_async(&mut conn)
            .await?;
        // [[stream, [entries...]]] or nil
        let Value::Array(streams) = reply else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for s in streams {
            if let Value::Array(kv) = s {
                if let Some(entries) = kv.get(1) {
                    out.extend(entries_of(entries));
                }
            }
        }
        Ok(out)
    }

    /// Claims `entry` again every third of the lease (JUSTID: its idle time
    /// restarts, its delivery count does not grow). Never ends.
    pub(crate) async fn renew_lease(&self, stream: String, entry: String) {
        let every = self.config.lease / 3;
        let mut conn = self.queue.conn.clone();
        loop {
            tokio::time::sleep(every).await;
            let mut claim = redis::cmd("XCLAIM");
            claim
                .arg(&stream)
                .arg(GROUP)
                .arg(&self.config.consumer)
                .arg(0)
                .arg(&entry)
                .arg("JUSTID");
            let _ = tokio::time::timeout(every, claim.query_async::<Value>(&mut conn)).await;
        }
    }

    /// How many times a batch was delivered.
    pub(crate) async fn deliveries(&self, stream: &str, entry: &str) -> Result<u64, JobError> {
        let mut conn = self.queue.conn.clone();
        let reply: Value = redis::cmd("XPENDING")
            .arg(stream)
            .arg(GROUP)
            .arg(entry)
            .arg(entry)
            .arg(1)
            .query_async(&mut conn)
            .await?;
        if let Value::Array(rows) = reply {
            if let Some(Value::Array(row)) = rows.first() {
                if let Some(Value::Int(n)) = row.get(3) {
                    return Ok(*n as u64);
                }
            }
        }
        Ok(1)
    }
}

/// Stream entries `[[id, [field, value, ...]], ...]` as (id, members).
fn entries_of(v: &Value) -> Vec<(String, Vec<String>)> {
    let Value::Array(entries) = v else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in entries {
        let Value::Array(pair) = e else {
            continue;
        };
        let (Some(Value::BulkString(id)), Some(Value::Array(fields))) = (pair.first(), pair.get(1))
        else {
            continue;
        };
        let mut members = Vec::new();
        for kv in fields.chunks(2) {
            if let [Value::BulkString(k), Value::BulkString(v)] = kv {
                if k.as_slice() == b"m" {
                    members = String::from_utf8_lossy(v)
                        .split('\n')
                        .map(str::to_owned)
                        .collect();
                }
            }
        }
        out.push((String::from_utf8_lossy(id).into_owned(), members));
    }
    out
}
