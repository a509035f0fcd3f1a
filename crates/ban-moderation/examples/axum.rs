//! Mounting the moderation loop in an axum app that has routes of its own.
//!
//! ```sh
//! # TIM_SDKAPPID, TIM_SECRET_KEY, TIM_ADMIN (and TIM_ENDPOINT, TIM_CA_CERT
//! # to act through a local emulator) as for banctl
//! cargo run -p ban-moderation --example axum -- \
//!     --listen 127.0.0.1:8080 --rules rules.toml --callback-token-file callback.token
//! ```
//!
//! Point the console's callback URL at `https://<your host>/tim/callback`.

#![allow(unused_crate_dependencies)] // an example sees all its package's dependencies

use std::path::PathBuf;
use std::time::Duration;

use axum::routing::get;
use ban_callback::{CallbackToken, Verifier};
use ban_moderation::{ClientExecutor, Metrics, Moderator, Tracing};

/// `--listen`, `--rules`, `--callback-token-file`, each with a value.
struct Args {
    listen: String,
    rules: PathBuf,
    token_file: PathBuf,
}

fn args() -> Result<Args, String> {
    let mut listen = "127.0.0.1:8080".to_owned();
    let (mut rules, mut token_file) = (None, None);
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--listen" => listen = value,
            "--rules" => rules = Some(PathBuf::from(value)),
            "--callback-token-file" => token_file = Some(PathBuf::from(value)),
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(Args {
        listen,
        rules: rules.ok_or("give --rules FILE")?,
        token_file: token_file.ok_or("give --callback-token-file FILE")?,
    })
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = args()?;
    let rules = ban_rules::Rules::load(&args.rules)?;
    let client = ban_facade::Client::from_env()?;
    let sdkappid: u64 = std::env::var("TIM_SDKAPPID")?.trim().parse()?;
    let token = std::fs::read_to_string(&args.token_file)?;
    let token = token.lines().next().unwrap_or("").trim().to_owned();
    if token.is_empty() {
        return Err(format!("{} is empty", args.token_file.display()).into());
    }

    let moderation = Moderator::builder(rules)
        .observer(Metrics)
        .observer(Tracing)
        // Observers are plain functions too: here, a line per action.
        .observer(|e: &ban_moderation::Event| {
            if e.kind == ban_moderation::EventKind::Action {
                println!(
                    "{}",
                    String::from_utf8_lossy(&ban_moderation::audit_line(e))
                );
            }
        })
        .start(ClientExecutor::new(client));
    let verifier = Verifier::new(sdkappid, Some(CallbackToken::new(token)));
    let app = axum::Router::new()
        .route("/", get(|| async { "our own app\n" }))
        .route_service(
            "/tim/callback",
            ban_moderation::service(verifier, moderation.moderator()),
        );
    let listener = tokio::net::TcpListener::bind(&args.listen).await?;
    eprintln!("listening on {}", listener.local_addr()?);
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    moderation.shutdown(Duration::from_secs(30)).await;
    Ok(())
}
