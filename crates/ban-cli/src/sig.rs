//! `banctl sig gen` and `banctl sig verify`.

use std::io::Read;
use std::process::ExitCode;

use ban_sign::{Clock, Signer, SystemClock};
use serde_json::json;

use crate::args::{Global, SigCmd};
use crate::output::{self, escape, failed, rfc3339, usage, Failure};
use crate::settings::Settings;

pub(crate) fn run(g: &Global, cmd: SigCmd) -> Result<ExitCode, Failure> {
    let settings = Settings::new(g);
    let signer = Signer::new(settings.require_sdkappid()?, settings.require_secret_key()?);
    let now = SystemClock.now_unix();
    match cmd {
        SigCmd::Gen { identifier, expire } => {
            ban_proto::MemberAccount::new(identifier.as_str())
                .map_err(|e| usage(format!("--identifier: {e}")))?;
            let sig = signer.sign(&identifier, now, expire);
            if g.json {
                output::line(
                    json!({"usersig": sig.expose(), "identifier": identifier, "sdkappid": signer.sdkappid(), "time": now, "expire": expire}),
                )?;
            } else {
                output::line(sig.expose())?;
            }
            Ok(ExitCode::SUCCESS)
        }
        SigCmd::Verify { identifier, sig } => {
            let sig = if sig == "-" {
                let mut text = String::new();
                std::io::stdin()
                    .lock()
                    .read_to_string(&mut text)
                    .map_err(|e| usage(format!("cannot read the UserSig from stdin: {e}")))?;
                text
            } else {
                sig
            };
            match signer.verify(sig.trim(), &identifier, now) {
                Ok(c) => {
                    if g.json {
                        output::line(
                            json!({"valid": true, "identifier": c.identifier, "sdkappid": c.sdkappid, "time": c.time, "expire": c.expire, "expires_at": c.expires_at()}),
                        )?;
                    } else {
                        output::line(format_args!(
                            "valid: identifier {}, SDKAppID {}, issued {}, expires {} (in {} s)",
                            escape(&c.identifier),
                            c.sdkappid,
                            rfc3339(c.time),
                            rfc3339(c.expires_at()),
                            c.expires_at().saturating_sub(now)
                        ))?;
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    let reason = escape(&e.to_string());
                    if g.json {
                        output::line(
                            json!({"valid": false, "code": e.error_code().code(), "reason": reason}),
                        )?;
                        Ok(ExitCode::from(1))
                    } else {
                        Err(failed(format!(
                            "invalid UserSig (service code {}): {reason}",
                            e.error_code().code()
                        )))
                    }
                }
            }
        }
    }
}
