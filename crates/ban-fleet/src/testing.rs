//! A real `redis-server` for tests and benchmarks (feature `test-util`):
//! started on a free loopback port in a directory of its own, stopped when
//! dropped. Never a server left running on the machine.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `redis-server` process of this test.
#[derive(Debug)]
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
    args: Vec<String>,
}

impl RedisServer {
    /// Starts one on a free port, logging every write to its append-only
    /// file (as jobs need: a restart keeps them), and waits until it
    /// answers PING. Fails, naming the fix, when `redis-server` is not
    /// installed.
    pub fn start() -> std::io::Result<RedisServer> {
        Self::start_with(&["--appendonly", "yes", "--appendfsync", "everysec"])
    }

    /// One that persists nothing (no AOF, no snapshots): a restart loses
    /// every key, as an in-memory cache would.
    pub fn start_volatile() -> std::io::Result<RedisServer> {
        Self::start_with(&["--appendonly", "no"])
    }

    /// One with extra `redis-server` arguments (`--requirepass`, ...).
    pub fn start_with(args: &[&str]) -> std::io::Result<RedisServer> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let dir =
            std::env::temp_dir().join(format!("ban-fleet-redis-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let mut server = RedisServer {
            child: None,
            port,
            dir,
            args: args.iter().map(|a| (*a).to_owned()).collect(),
        };
        server.spawn()?;
        Ok(server)
    }

    fn spawn(&mut self) -> std::io::Result<()> {
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port"])
            .arg(self.port.to_string())
            .args(["--save", "", "--daemonize", "no"])
            .args(["--maxmemory-policy", "noeviction", "--dir"])
            .arg(&self.dir)
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                std::io::Error::new(
                    e.kind(),
                    format!("cannot start redis-server ({e}); install it (Debian: apt-get install redis-server)"),
                )
            })?;
        self.child = Some(child);
        let started = Instant::now();
        while !self.answers() {
            if started.elapsed() > Duration::from_secs(10) {
                return Err(std::io::Error::other(
                    "redis-server did not answer PING in 10 s",
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    /// Whether it answers PING now (`-NOAUTH` counts: it is up).
    pub fn answers(&self) -> bool {
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
        let mut buf = [0u8; 7];
        s.write_all(b"PING\r\n").is_ok()
            && s.read_exact(&mut buf).is_ok()
            && (&buf == b"+PONG\r\n" || buf.starts_with(b"-NOAUTH"))
    }

    /// Its URL, `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The process id, to signal it.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Kills it (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same port, with what its append-only file
    /// kept (nothing, for [`RedisServer::start_volatile`]).
    pub fn restart(&mut self) -> std::io::Result<()> {
        self.kill();
        self.spawn()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A real 3-node Redis Cluster of this test: three `redis-server
/// --cluster-enabled yes` on free loopback ports, joined by `redis-cli
/// --cluster create` (no replicas), each logging writes to its AOF.
/// Stopped when dropped.
#[derive(Debug)]
pub struct RedisCluster {
    nodes: Vec<RedisServer>,
}

impl RedisCluster {
    /// Starts the three nodes, creates the cluster and waits until every
    /// node says `cluster_state:ok`.
    pub fn start() -> std::io::Result<RedisCluster> {
        let mut nodes = Vec::new();
        for _ in 0..3 {
            nodes.push(RedisServer::start_with(&[
                "--cluster-enabled",
                "yes",
                "--cluster-node-timeout",
                "5000",
                "--appendonly",
                "yes",
            ])?);
        }
        let addrs: Vec<String> = nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        let out = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(&addrs)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .output()
            .map_err(|e| {
                std::io::Error::new(
                    e.kind(),
                    format!("cannot run redis-cli ({e}); install it (Debian: apt-get install redis-tools)"),
                )
            })?;
        if !out.status.success() {
            return Err(std::io::Error::other(format!(
                "redis-cli --cluster create failed: {}",
                String::from_utf8_lossy(&out.stdout)
            )));
        }
        let cluster = RedisCluster { nodes };
        let started = Instant::now();
        while !cluster.is_ok() {
            if started.elapsed() > Duration::from_secs(30) {
                return Err(std::io::Error::other(
                    "the cluster did not become ok in 30 s",
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(cluster)
    }

    fn is_ok(&self) -> bool {
        self.nodes.iter().all(|n| {
            Command::new("redis-cli")
                .args(["-p", &n.port.to_string(), "cluster", "info"])
                .output()
                .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("cluster_state:ok"))
        })
    }

    /// The nodes' URLs.
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(RedisServer::url).collect()
    }

    /// The nodes' URLs joined by commas, as `--redis-cluster` takes them.
    pub fn url_list(&self) -> String {
        self.urls().join(",")
    }
}
