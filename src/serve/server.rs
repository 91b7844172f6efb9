//! The HTTP side: hyper's HTTP/1 server on a small tokio runtime, with every connection
//! bounded — headers read within a deadline and capped in size, answers written within a
//! deadline, a cap on connections — and a drain on SIGTERM that ends within a second.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use super::Settings;
use super::auth::Token;
use super::cache::Cache;
use super::plan::Plan;
use super::routes::{self, App};
use super::timed_io::TimedIo;
use crate::app::Failure;
use crate::cli::Cli;
use crate::exit::Exit;

/// A client must send its whole request head within this (and an idle keep-alive
/// connection is closed after it): a slow client holds a slot only this long.
const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
/// A client that stops reading its answer is dropped after this.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// The request line and headers together; ours need a few hundred bytes.
const MAX_HEADER_BYTES: usize = 8 * 1024;
const MAX_HEADERS: usize = 64;
/// Connections served at once; one more is closed at once rather than queued.
const MAX_CONNECTIONS: u32 = 256;
/// How long SIGTERM waits for answers under way.
const DRAIN: Duration = Duration::from_millis(700);

pub(crate) fn run(
    cli: Cli,
    settings: Settings,
    plan: Plan,
    token: Option<Token>,
) -> Result<Exit, Failure> {
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().min(4));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .thread_name("serve")
        .enable_io()
        .enable_time()
        .build()
        .map_err(|e| Failure(Exit::Error, format!("cannot start the server: {e}")))?;
    let listen = settings.listen;
    let std_listener = std::net::TcpListener::bind(listen)
        .and_then(|l| l.set_nonblocking(true).map(|()| l))
        .map_err(|e| {
            Failure(
                Exit::IoError,
                format!("cannot listen on {listen}: {}", crate::sys::io_reason(&e)),
            )
        })?;
    let bound = std_listener.local_addr().unwrap_or(listen);
    let checks = plan.specs.len();

    let cache = Arc::new(Cache::new(
        plan,
        settings.cache,
        settings.interval.is_some(),
        settings.history,
        settings.fail_on,
    ));
    let app = Arc::new(App {
        cache: Arc::clone(&cache),
        token: RwLock::new(token),
        refresh: settings
            .interval
            .unwrap_or(settings.cache)
            .max(Duration::from_secs(5)),
    });
    let stop = super::signals::watch(cli, settings.token_file.clone(), Arc::clone(&app))
        .map_err(|e| Failure(Exit::Error, format!("cannot watch signals: {e}")))?;
    if let Some(every) = settings.interval {
        cache.start_background(every).map_err(|e| {
            Failure(
                Exit::Error,
                format!("cannot start the background runs: {e}"),
            )
        })?;
    }
    let runs = match settings.interval {
        Some(every) => format!("every {}", crate::units::fmt_duration(every)),
        None => format!(
            "on request, cached {}",
            crate::units::fmt_duration(settings.cache)
        ),
    };
    eprintln!(
        "sitedoctor: serving {checks} check(s) on http://{bound}/ (runs {runs}; /healthz judges with --fail-on {})",
        clap::ValueEnum::to_possible_value(&settings.fail_on)
            .expect("every FailOn is a value")
            .get_name()
    );

    let code = rt.block_on(async move {
        let listener = match TcpListener::from_std(std_listener) {
            Ok(l) => l,
            Err(e) => {
                eprintln!("sitedoctor: cannot listen on {bound}: {e}");
                return Exit::IoError;
            }
        };
        let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS as usize));
        let accepting = tokio::spawn(accept(listener, app, Arc::clone(&slots)));
        let code = stop.await.unwrap_or(Exit::Ok);
        // Dropping the accept loop closes the port and, through the graceful watch, asks
        // every connection to finish the answer under way and close.
        accepting.abort();
        let _ = accepting.await;
        let _ = tokio::time::timeout(DRAIN, slots.acquire_many(MAX_CONNECTIONS)).await;
        code
    });
    rt.shutdown_timeout(Duration::from_millis(100));
    crate::sys::child::kill_all();
    Ok(code)
}

async fn accept(listener: TcpListener, app: Arc<App>, slots: Arc<Semaphore>) {
    let graceful = GracefulShutdown::new();
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .max_header_size(MAX_HEADER_BYTES)
        .max_headers(MAX_HEADERS)
        .max_buf_size(2 * MAX_HEADER_BYTES);
    loop {
        let stream = match listener.accept().await {
            Ok((s, _)) => s,
            Err(e) => {
                // Out of file descriptors, most likely: wait for some to be freed.
                eprintln!("sitedoctor: accept: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let io = TokioIo::new(TimedIo::new(stream, WRITE_TIMEOUT));
        let app = Arc::clone(&app);
        let conn = http.serve_connection(
            io,
            service_fn(move |req| routes::answer(Arc::clone(&app), req)),
        );
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            let _ = conn.await;
            drop(slot);
        });
    }
}
