//! The signals that stop a long-running command: Ctrl-C (SIGINT), SIGTERM
//! and SIGHUP, each with its exit code (128 + the signal's number), so a
//! `kill -HUP` meant for `banctl serve` (which reloads on it) never kills
//! a `banctl ban` without its report, a worker without its batches or an
//! emulator mid-answer.

use std::sync::atomic::{AtomicU8, Ordering};

/// A signal that asks a command to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// Ctrl-C: exit 130.
    Interrupt,
    /// SIGTERM (`kill`, systemd, Kubernetes): exit 143.
    Terminate,
    /// SIGHUP (the terminal closed, or a `kill -HUP`): exit 129.
    Hangup,
}

impl Stop {
    /// The exit code of a command this signal stopped.
    pub(crate) fn exit_code(self) -> u8 {
        match self {
            Stop::Interrupt => 130,
            Stop::Terminate => 143,
            Stop::Hangup => 129,
        }
    }

    /// How the signal is named to people.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Stop::Interrupt => "Ctrl-C",
            Stop::Terminate => "SIGTERM",
            Stop::Hangup => "SIGHUP",
        }
    }

    fn from_code(code: u8) -> Option<Stop> {
        [Stop::Interrupt, Stop::Terminate, Stop::Hangup]
            .into_iter()
            .find(|s| s.exit_code() == code)
    }
}

/// The first stopping signal this process received (0: none yet).
static FIRST: AtomicU8 = AtomicU8::new(0);

/// The first signal that stopped this process, if any.
pub(crate) fn stopped_by() -> Option<Stop> {
    Stop::from_code(FIRST.load(Ordering::SeqCst))
}

/// The exit code of an interrupted job: the signal's, or 130 when the
/// stop came from elsewhere.
pub(crate) fn interrupted_code() -> u8 {
    stopped_by().map_or(130, Stop::exit_code)
}

/// Watches for the signals that stop a command. Made at the command's
/// start: from then on none of them ends the process by its default
/// action.
pub(crate) struct Signals {
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    hup: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    /// Ctrl-C, SIGTERM and, when `hangup_stops`, SIGHUP (serve takes
    /// SIGHUP for a reload instead).
    pub(crate) fn new(hangup_stops: bool) -> std::io::Result<Signals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let int = signal(SignalKind::interrupt())?;
            let term = signal(SignalKind::terminate())?;
            let hup = if hangup_stops {
                Some(signal(SignalKind::hangup())?)
            } else {
                None
            };
            Ok(Signals { int, term, hup })
        }
        #[cfg(not(unix))]
        {
            let _ = hangup_stops;
            Ok(Signals {})
        }
    }

    /// The next stopping signal; the first one is remembered for
    /// [`stopped_by`].
    pub(crate) async fn next(&mut self) -> std::io::Result<Stop> {
        let stop = self.wait().await?;
        let _ = FIRST.compare_exchange(0, stop.exit_code(), Ordering::SeqCst, Ordering::SeqCst);
        Ok(stop)
    }

    #[cfg(unix)]
    async fn wait(&mut self) -> std::io::Result<Stop> {
        let Signals { int, term, hup } = self;
        let hup = async {
            match hup {
                Some(h) => h.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = int.recv() => Ok(Stop::Interrupt),
            _ = term.recv() => Ok(Stop::Terminate),
            _ = hup => Ok(Stop::Hangup),
        }
    }

    #[cfg(not(unix))]
    async fn wait(&mut self) -> std::io::Result<Stop> {
        tokio::signal::ctrl_c().await.map(|()| Stop::Interrupt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_signal_has_its_own_exit_code() {
        for s in [Stop::Interrupt, Stop::Terminate, Stop::Hangup] {
            assert_eq!(Stop::from_code(s.exit_code()), Some(s));
        }
        assert_eq!(Stop::from_code(0), None);
        assert_eq!(interrupted_code(), 130, "no signal yet");
    }
}
