//! Raid mode on the metrics port (`--metrics-listen`, the operator's port,
//! never the callback port that faces the internet): `GET /raid` is the
//! raids on in this instance, `POST /raid?group=G&mode=on|off` forces one
//! (`banctl raid --serve ADDR`). An instance sharing Redis forces it there,
//! so every instance follows.

use std::sync::Arc;

use ban_moderation::Moderator;
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Response, StatusCode};

fn json(status: StatusCode, value: &serde_json::Value) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(format!("{value}\n"))));
    *r.status_mut() = status;
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    r
}

fn bad(message: String) -> Response<Full<Bytes>> {
    json(
        StatusCode::BAD_REQUEST,
        &serde_json::json!({ "error": message }),
    )
}

/// `GET /raid`: the raids on here, each with its cohort and refusals.
pub(crate) fn status(moderator: &Moderator) -> Response<Full<Bytes>> {
    let raids: Vec<_> = moderator
        .raid_status()
        .into_iter()
        .map(|(group, cohort, refused)| {
            serde_json::json!({"group": group, "cohort": cohort, "refused": refused})
        })
        .collect();
    json(StatusCode::OK, &serde_json::json!({ "raids": raids }))
}

/// `POST /raid?group=G&mode=on|off`: forces raid mode; 400 naming the
/// field for a missing or bad one.
pub(crate) async fn force(moderator: Arc<Moderator>, query: Option<&str>) -> Response<Full<Bytes>> {
    let (mut group, mut mode) = (None, None);
    for (k, v) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        match k.as_ref() {
            "group" => group = Some(v.into_owned()),
            "mode" => mode = Some(v.into_owned()),
            _ => {}
        }
    }
    let Some(group) = group else {
        return bad("group: missing (POST /raid?group=G&mode=on|off)".to_owned());
    };
    if let Err(e) = ban_proto::GroupId::new(group.as_str()) {
        return bad(format!("group: {e}"));
    }
    let on = match mode.as_deref() {
        Some("on") => true,
        Some("off") => false,
        other => {
            return bad(format!(
                "mode: expected on or off, got {}",
                ban_proto::escape_bounded(other.unwrap_or(""), 32)
            ))
        }
    };
    let changed = moderator.force_raid(&group, on).await;
    json(
        StatusCode::OK,
        &serde_json::json!({"group": group, "raid": if on { "on" } else { "off" }, "changed": changed}),
    )
}
