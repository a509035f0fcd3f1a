//! A worker: the facade's one job engine ([`ban_facade::engine::drive`]) over the
//! Redis store ([`super::store::RedisStore`]). The engine keeps the window
//! of batches in flight and runs each with the job's [`ban_facade::engine::JobRun`];
//! the store polls the streams, renews leases and records outcomes.

use ban_facade::engine::{drive, DriveOptions};
use ban_facade::{AbortSignal, Client};
use ban_proto::SettingError;

use super::config::WorkerConfig;
use super::error::JobError;
use super::queue::JobQueue;
use super::store::{RedisStore, WorkerStats};
use super::upkeep::{upkeep, Leases};

/// A worker of the job queue; takes the facade's client (give it a
/// `RedisLimiter` so every worker shares the budget).
#[derive(Clone)]
pub struct Worker {
    queue: JobQueue,
    client: Client,
    config: WorkerConfig,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Worker {
    /// A worker of `queue` calling through `client`; refuses a zero
    /// in-flight window, lease, delivery bound or retention, and a client
    /// of another app than the queue's (it would ban in the wrong app).
    pub fn new(queue: JobQueue, client: Client, config: WorkerConfig) -> Result<Self, JobError> {
        config.check()?;
        let app = client.transport().sdkappid();
        if app != queue.sdkappid() {
            return Err(JobError::Setting(SettingError::new(
                "the worker's SDKAppID",
                app,
                format!("the queue's, {}", queue.sdkappid()),
            )));
        }
        Ok(Worker {
            queue,
            client,
            config,
        })
    }

    /// Works until `stop` is raised (or, with `exit_when_idle`, until no job
    /// has work left). Batches in flight finish first.
    pub async fn run(&self, stop: AbortSignal) -> Result<WorkerStats, JobError> {
        let leases = Leases::default();
        let mut store = RedisStore::new(
            self.queue.clone(),
            self.client.clone(),
            self.config.clone(),
            leases.clone(),
        );
        let upkeep = tokio::spawn(upkeep(
            self.queue.conn(),
            self.queue.layout().clone(),
            self.config.consumer.clone(),
            leases,
            self.config.lease,
        ));
        // Each poll costs Redis round trips: ask for a quarter window at a
        // time (the rest of the window keeps the budget busy meanwhile).
        let options = DriveOptions::new(self.config.max_in_flight)
            .shutdown_on(stop)
            .refill_at(self.config.max_in_flight / 4);
        let result = drive(&mut store, options).await;
        upkeep.abort();
        let stats = store.finish().await;
        result.map(|()| stats)
    }
}
