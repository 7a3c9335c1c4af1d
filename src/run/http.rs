//! The HTTP API of `vigil run`: health, metrics and ingest.
//!
//! | route | what |
//! | --- | --- |
//! | `GET /healthz` | 200 while the pipeline runs, 503 once it has stopped |
//! | `GET /readyz` | 200 once every source has started and state is loaded |
//! | `GET /metrics` | Prometheus text exposition |
//! | `POST /v1/ingest/{format}` | NDJSON, raw lines or a JSON array; `auto` tells each record's format from its content |
//! | `POST /services/collector/event` | Splunk HEC events (`{"event": ..., "sourcetype": ...}` objects, concatenated) |
//! | `POST /services/collector/raw` | Splunk HEC raw lines (`?sourcetype=` or `?format=`) |
//! | `GET /services/collector/health` | Splunk HEC health |
//!
//! Ingest needs `Authorization: Bearer <token>` (or `Splunk <token>` on
//! the HEC routes) with a token from `run.tokens`; with no tokens
//! configured, the ingest routes answer 404. A body over
//! `run.max_body_bytes` gets 413. When the pipeline's queue is full the
//! request is refused whole with 503 and `Retry-After`, so a client
//! that retries loses nothing and the service's memory stays bounded.
//! Records that cannot be decoded go to the dead-letter output, and the
//! answer counts them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;
use vigil_ingest::stream::StreamDecoder;
use vigil_ingest::{DecodeConfig, Format};

use super::Msg;
use super::metrics::Metrics;
use super::pipeline::Work;

/// What the handlers share.
pub struct Api {
    pub metrics: Arc<Metrics>,
    pub tokens: Vec<String>,
    pub decode: DecodeConfig,
    pub max_record_bytes: usize,
    /// The pipeline; taken away when the service stops.
    pub tx: Mutex<Option<SyncSender<Msg>>>,
    /// False once the pipeline thread has ended.
    pub alive: Arc<AtomicBool>,
    pub requests: AtomicU64,
}

/// The router.
pub fn router(api: Arc<Api>, max_body: usize) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/v1/ingest/{format}", post(ingest))
        .route("/services/collector", post(hec_event))
        .route("/services/collector/event", post(hec_event))
        .route("/services/collector/event/1.0", post(hec_event))
        .route("/services/collector/raw", post(hec_raw))
        .route("/services/collector/raw/1.0", post(hec_raw))
        .route("/services/collector/health", get(hec_health))
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(api)
}

async fn healthz(State(api): State<Arc<Api>>) -> Response {
    if api.alive.load(Ordering::Relaxed) {
        (StatusCode::OK, "ok\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "pipeline stopped\n").into_response()
    }
}

async fn readyz(State(api): State<Arc<Api>>) -> Response {
    if api.metrics.ready.load(Ordering::Relaxed) && api.alive.load(Ordering::Relaxed) {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "starting\n").into_response()
    }
}

async fn metrics(State(api): State<Arc<Api>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        api.metrics.render(),
    )
        .into_response()
}

fn error(status: StatusCode, msg: &str) -> Response {
    (status, axum::Json(json!({ "error": msg }))).into_response()
}

/// Whether the request carries a configured token after `scheme`.
fn authorised(api: &Api, headers: &HeaderMap, scheme: &str) -> bool {
    let Some(v) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Some((s, token)) = v.split_once(' ') else {
        return false;
    };
    if !s.eq_ignore_ascii_case(scheme) {
        return false;
    }
    let token = token.trim().as_bytes();
    api.tokens
        .iter()
        .any(|t| constant_time_eq(t.as_bytes(), token))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn unauthorised(scheme: &str) -> Response {
    let mut r = error(StatusCode::UNAUTHORIZED, "missing or unknown token");
    if let Ok(v) = HeaderValue::from_str(&format!("{scheme} realm=\"vigil\"")) {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    r
}

fn parse_format(name: &str) -> Result<Option<Format>, String> {
    if name == "auto" {
        return Ok(None);
    }
    Format::from_name(name).map(Some).ok_or_else(|| {
        let names: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
        format!(
            "unknown format {name:?}; one of: auto, {}",
            names.join(", ")
        )
    })
}

/// Records of one request, each with the format to read it as.
type Records = Vec<(Option<Format>, Vec<u8>)>;

/// Split a body into records: a JSON array's elements, or its lines.
fn split_body(body: &[u8], format: Option<Format>) -> Records {
    let trimmed = body.trim_ascii_start();
    // N.B. a body that starts with `[` is one JSON array only when it
    // parses as one; otherwise (a syslog line like `[client …]`, NDJSON
    // of arrays) its lines are records like any other body's, so each
    // bad one is dead-lettered rather than the whole request refused.
    if trimmed.starts_with(b"[")
        && let Ok(items) = serde_json::from_slice::<Vec<Box<serde_json::value::RawValue>>>(trimmed)
    {
        return items
            .into_iter()
            .map(|v| (format, v.get().as_bytes().to_vec()))
            .collect();
    }
    lines(body, format)
}

/// The body's lines, bytes as they came (invalid UTF-8 is the decoder's
/// to report, not to be patched here).
fn lines(body: &[u8], format: Option<Format>) -> Records {
    body.split(|b| *b == b'\n')
        .map(|l| (format, l.to_vec()))
        .collect()
}

/// Decode records and hand them to the pipeline: 200 with counts, or 503
/// with `Retry-After` when the pipeline is full.
async fn accept(api: Arc<Api>, name: String, records: Records) -> Response {
    let received = Instant::now();
    let Some(tx) = api
        .tx
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone()
    else {
        return busy(&api, "the service is stopping");
    };
    let api2 = api.clone();
    let decoded = tokio::task::spawn_blocking(move || decode(&api2, &name, records)).await;
    let Ok(work) = decoded else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "decoding failed");
    };
    let mut work = work;
    work.received = received;
    let (n, dead) = (work.records, work.dead.len());
    match tx.try_send(Msg::Work(Box::new(work))) {
        Ok(()) => {
            api.metrics.queue_depth.fetch_add(1, Ordering::Relaxed);
            (
                StatusCode::OK,
                axum::Json(json!({ "records": n, "dead_letters": dead })),
            )
                .into_response()
        }
        Err(TrySendError::Full(_)) => busy(&api, "the pipeline is full; retry later"),
        Err(TrySendError::Disconnected(_)) => busy(&api, "the pipeline has stopped"),
    }
}

fn busy(api: &Api, why: &str) -> Response {
    api.metrics.http_busy.fetch_add(1, Ordering::Relaxed);
    let mut r = error(StatusCode::SERVICE_UNAVAILABLE, why);
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    r
}

fn decode(api: &Api, name: &str, records: Records) -> Work {
    let seq = api.requests.fetch_add(1, Ordering::Relaxed);
    let stamp = chrono::Utc::now().timestamp_micros();
    let mut decoders: HashMap<Option<Format>, StreamDecoder> = HashMap::new();
    let mut dead = Vec::new();
    let mut n = 0u64;
    let mut push = |format: Option<Format>, bytes: &[u8], line: u64| {
        let d = decoders.entry(format).or_insert_with(|| {
            StreamDecoder::new(
                format!("{name}#{stamp:x}-{seq}"),
                format,
                api.decode.clone(),
                api.max_record_bytes,
            )
        });
        if bytes.trim_ascii().is_empty() {
            return;
        }
        n += 1;
        if let Err(dl) = d.push(bytes, line, line) {
            dead.push(*dl);
        }
    };
    for (i, (format, text)) in records.iter().enumerate() {
        push(*format, text, i as u64 + 1);
    }
    let mut batches = Vec::new();
    for d in decoders.values_mut() {
        batches.extend(d.flush());
    }
    Work {
        source: format!("http:{name}").into(),
        batches,
        dead,
        records: n,
        late: 0,
        offsets: Vec::new(),
        received: Instant::now(),
        decoded: Instant::now(),
        produced_ms: Vec::new(),
    }
}

async fn ingest(
    State(api): State<Arc<Api>>,
    Path(format): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if api.tokens.is_empty() {
        return error(
            StatusCode::NOT_FOUND,
            "ingest is off: no run.tokens configured",
        );
    }
    if !authorised(&api, &headers, "Bearer") {
        return unauthorised("Bearer");
    }
    let f = match parse_format(&format) {
        Ok(f) => f,
        Err(e) => return error(StatusCode::NOT_FOUND, &e),
    };
    accept(api, format!("ingest/{format}"), split_body(&body, f)).await
}

fn hec(status: StatusCode, code: u32, text: &str) -> Response {
    (status, axum::Json(json!({ "text": text, "code": code }))).into_response()
}

fn hec_auth(api: &Api, headers: &HeaderMap) -> Option<Response> {
    if api.tokens.is_empty() {
        return Some(hec(
            StatusCode::NOT_FOUND,
            404,
            "HEC is off: no run.tokens configured",
        ));
    }
    if headers.get(header::AUTHORIZATION).is_none() {
        return Some(hec(StatusCode::UNAUTHORIZED, 2, "Token is required"));
    }
    if !authorised(api, headers, "Splunk") && !authorised(api, headers, "Bearer") {
        return Some(hec(StatusCode::FORBIDDEN, 4, "Invalid token"));
    }
    None
}

#[derive(serde::Deserialize)]
struct HecEvent {
    event: Option<serde_json::Value>,
    sourcetype: Option<String>,
}

async fn hec_event(
    State(api): State<Arc<Api>>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(r) = hec_auth(&api, &headers) {
        return r;
    }
    let default = q
        .get("sourcetype")
        .or_else(|| q.get("format"))
        .and_then(|s| Format::from_name(s));
    let mut records = Vec::new();
    for (i, ev) in serde_json::Deserializer::from_slice(&body)
        .into_iter::<HecEvent>()
        .enumerate()
    {
        let ev = match ev {
            Ok(e) => e,
            Err(e) => {
                let msg = format!("Invalid data format: event {} {e}", i + 1);
                return (
                    StatusCode::BAD_REQUEST,
                    axum::Json(json!({ "text": msg, "code": 6, "invalid-event-number": i })),
                )
                    .into_response();
            }
        };
        let Some(event) = ev.event else {
            return (
                StatusCode::BAD_REQUEST,
                axum::Json(json!({ "text": "Event field is required", "code": 12, "invalid-event-number": i })),
            )
                .into_response();
        };
        let format = ev
            .sourcetype
            .as_deref()
            .and_then(Format::from_name)
            .or(default);
        let text = match event {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        };
        records.push((format, text.into_bytes()));
    }
    if records.is_empty() {
        return hec(StatusCode::BAD_REQUEST, 5, "No data");
    }
    hec_accept(accept(api, "hec".into(), records).await)
}

async fn hec_raw(
    State(api): State<Arc<Api>>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(r) = hec_auth(&api, &headers) {
        return r;
    }
    let format = q
        .get("sourcetype")
        .or_else(|| q.get("format"))
        .and_then(|s| Format::from_name(s));
    if body.trim_ascii().is_empty() {
        return hec(StatusCode::BAD_REQUEST, 5, "No data");
    }
    let records = lines(&body, format);
    hec_accept(accept(api, "hec-raw".into(), records).await)
}

/// HEC's own answers for success and for a full pipeline.
fn hec_accept(r: Response) -> Response {
    match r.status() {
        StatusCode::OK => hec(StatusCode::OK, 0, "Success"),
        StatusCode::SERVICE_UNAVAILABLE => {
            let mut b = hec(StatusCode::SERVICE_UNAVAILABLE, 9, "Server is busy");
            b.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            b
        }
        _ => r,
    }
}

async fn hec_health(State(api): State<Arc<Api>>) -> Response {
    if api.alive.load(Ordering::Relaxed) {
        hec(StatusCode::OK, 17, "HEC is healthy")
    } else {
        hec(StatusCode::SERVICE_UNAVAILABLE, 18, "HEC is unhealthy")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_split_into_records() {
        let r = split_body(b"[{\"a\":1}, {\"b\":[2]}]", None);
        assert_eq!(r.len(), 2);
        assert_eq!(r[1].1, b"{\"b\":[2]}");
        let r = split_body(b"one\ntwo\n", Some(Format::Syslog));
        assert_eq!(r.iter().filter(|(_, t)| !t.is_empty()).count(), 2);
        // Not one array: lines, each for the decoder to take or refuse.
        let r = split_body(b"[client 1.2.3.4] x\n[1,2]\n\xff\n", Some(Format::Syslog));
        assert_eq!(r.len(), 4);
        assert_eq!(r[2].1, b"\xff", "bytes kept as they came");
        assert!(
            parse_format("nope")
                .expect_err("unknown")
                .contains("one of: auto")
        );
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(constant_time_eq(b"secret-token", b"secret-token"));
        assert!(!constant_time_eq(b"secret-token", b"secret-toke"));
        assert!(!constant_time_eq(b"secret-token", b"secret-tokeN"));
    }
}
