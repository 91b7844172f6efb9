//! What each path answers: `/healthz`, `/metrics`, `/report.json` and `/`; 404 elsewhere, 405
//! for methods other than GET and HEAD, 401 where the token is missing.

use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};

use super::auth::Token;
use super::cache::{Cache, Snapshot};

/// What every request shares.
pub(crate) struct App {
    pub cache: Arc<Cache>,
    /// Replaced on SIGHUP when the file still gives a valid token.
    pub token: RwLock<Option<Token>>,
    /// How often the status page reloads itself.
    pub refresh: Duration,
}

type Answer = Response<Full<Bytes>>;

const TEXT: &str = "text/plain; charset=utf-8";
/// The Prometheus text exposition format.
const METRICS: &str = "text/plain; version=0.0.4; charset=utf-8";
/// The page runs no script and loads nothing: even an escaping bug could not run code.
const PAGE_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

enum Route {
    Health,
    Metrics,
    Json,
    Page,
}

pub(crate) async fn answer<B>(
    app: Arc<App>,
    req: Request<B>,
) -> Result<Answer, std::convert::Infallible> {
    Ok(route(&app, &req).await)
}

async fn route<B>(app: &App, req: &Request<B>) -> Answer {
    let route = match req.uri().path() {
        "/healthz" => Route::Health,
        "/metrics" => Route::Metrics,
        "/report.json" => Route::Json,
        "/" => Route::Page,
        _ => {
            return plain(
                StatusCode::NOT_FOUND,
                "not found: try /, /healthz, /metrics or /report.json\n",
            );
        }
    };
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut r = plain(StatusCode::METHOD_NOT_ALLOWED, "only GET and HEAD\n");
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    if matches!(route, Route::Json | Route::Page) && !admitted(app, req) {
        let mut r = plain(
            StatusCode::UNAUTHORIZED,
            "unauthorized: send `Authorization: Bearer TOKEN` with the token of --token-file\n",
        );
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"sitedoctor\""),
        );
        return r;
    }
    let Some(snap) = app.cache.get().await else {
        return plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "no run has finished: the first one crashed (see the server's log)\n",
        );
    };
    match route {
        Route::Health => {
            let status = if snap.healthy {
                StatusCode::OK
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            with_type(status, TEXT, snap.health_body.clone())
        }
        Route::Metrics => with_type(StatusCode::OK, METRICS, snap.metrics.clone()),
        Route::Json => with_type(StatusCode::OK, "application/json", snap.json.clone()),
        Route::Page => page(app, &snap),
    }
}

fn admitted<B>(app: &App, req: &Request<B>) -> bool {
    let token = app.token.read().unwrap_or_else(|e| e.into_inner());
    match &*token {
        None => true,
        Some(t) => t.admits(
            req.headers()
                .get(header::AUTHORIZATION)
                .map(HeaderValue::as_bytes),
        ),
    }
}

fn page(app: &App, snap: &Snapshot) -> Answer {
    let html = super::page::render(&super::page::View {
        snap,
        now: SystemTime::now(),
        refresh: app.refresh,
    });
    let mut r = with_type(
        StatusCode::OK,
        "text/html; charset=utf-8",
        Bytes::from(html),
    );
    r.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PAGE_POLICY),
    );
    r
}

fn plain(status: StatusCode, body: &'static str) -> Answer {
    with_type(status, TEXT, Bytes::from_static(body.as_bytes()))
}

fn with_type(status: StatusCode, content_type: &'static str, body: Bytes) -> Answer {
    let mut r = Response::new(Full::new(body));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // Every answer is about now: no proxy or browser may keep one.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}
