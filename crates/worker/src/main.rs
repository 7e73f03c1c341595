//! Reference worker sidecar: leases jobs from the backend over gRPC (`jobs.v1.Jobs`), counts
//! the words and hashes the text (`jobs_api::compute`), and reports the result. It extends its
//! lease while it works, so only a dead worker's job is taken over.
//!
//! Stop: on SIGTERM the current job is released at once (the other replica or the next start
//! runs it) rather than finished, so a stop never waits for simulated work; when the stdin
//! lifeline closes the worker just exits (the lease expires). Ready while the backend answers.
//!
//! Environment beyond the sidecar contract: `BACKEND_URL` (`http://127.0.0.1:<port>`, or in
//! `remote_slim` the remote backend's `https://…`, trusted through the system's roots and
//! `SIDECAR_EXTRA_CA_FILES`), `BACKEND_API_KEY` (the remote backend's key; default: this
//! launch's `SIDECAR_API_KEY`, which is the local backend's).

use std::process::ExitCode;
use std::time::Duration;

use jobs_api::v1::{self, jobs_client::JobsClient};
use sidecar_kit::{Readiness, Shutdown, Sidecar};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

type Client = JobsClient<InterceptedService<Channel, KeyInterceptor>>;

/// Adds the launch's API key to every call.
#[derive(Clone)]
struct KeyInterceptor(Option<tonic::metadata::MetadataValue<tonic::metadata::Ascii>>);

impl tonic::service::Interceptor for KeyInterceptor {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(k) = &self.0 {
            req.metadata_mut().insert("x-api-key", k.clone());
        }
        Ok(req)
    }
}

fn main() -> ExitCode {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
    sidecar_kit::exit_code("worker", rt.block_on(run()))
}

async fn run() -> Result<(), String> {
    let sidecar = Sidecar::from_env("worker", env!("CARGO_PKG_VERSION")).map_err(|e| e.to_string())?;
    let url = std::env::var("BACKEND_URL").map_err(|_| {
        "BACKEND_URL is not set: the profile must pass e.g. http://127.0.0.1:{backend.port}".to_string()
    })?;
    let endpoint = tonic::transport::Endpoint::from_shared(url.clone())
        .map_err(|e| format!("BACKEND_URL: {e}"))?
        .connect_timeout(Duration::from_secs(2))
        .tcp_nodelay(true);
    let channel = if url.starts_with("https://") {
        endpoint.connect_with_connector_lazy(tls_connector()?)
    } else if url.starts_with("http://") {
        endpoint.connect_lazy()
    } else {
        return Err(format!("BACKEND_URL: `{}` must be an http:// or https:// URL", redact(&url)));
    };
    let key = match std::env::var("BACKEND_API_KEY").ok().filter(|k| !k.is_empty()) {
        Some(k) => Some(k.parse().map_err(|_| "BACKEND_API_KEY is not valid header text".to_string())?),
        None => match &sidecar.contract().api_key {
            Some(k) => Some(k.parse().map_err(|_| "SIDECAR_API_KEY is not valid header text".to_string())?),
            None => None,
        },
    };
    let client = JobsClient::with_interceptor(channel, KeyInterceptor(key));
    let me = sidecar.contract().instance_name.clone();
    let listener = sidecar.bind().await.map_err(|e| e.to_string())?;
    println!("{me} working for {url}");
    let work = tokio::spawn(work_loop(client, me.clone(), sidecar.readiness(), sidecar.shutdown()));
    let reason = sidecar.serve(listener, axum::Router::new(), tonic::service::Routes::default()).await;
    let _ = work.await;
    println!("{me} stopped: {}", reason.map(|r| r.to_string()).unwrap_or_else(|e| e.to_string()));
    Ok(())
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// TLS to a remote backend (HTTP/2 asked for by ALPN): the system's trust store and the
/// runtime's extra CA files; the certificate must name the URL's host.
fn tls_connector() -> Result<
    impl tower::Service<
            tonic::codegen::http::Uri,
            Response = hyper_util::rt::TokioIo<tokio_native_tls::TlsStream<tokio::net::TcpStream>>,
            Error = BoxError,
            Future = impl Send,
        > + Send
        + Clone
        + 'static,
    String,
> {
    let mut b = native_tls::TlsConnector::builder();
    b.request_alpns(&["h2"]);
    if let Some(list) = std::env::var_os("SIDECAR_EXTRA_CA_FILES").filter(|v| !v.is_empty()) {
        for f in std::env::split_paths(&list) {
            let pem =
                std::fs::read_to_string(&f).map_err(|e| format!("SIDECAR_EXTRA_CA_FILES: {}: {e}", f.display()))?;
            for block in pem_blocks(&pem) {
                let cert = native_tls::Certificate::from_pem(block.as_bytes())
                    .map_err(|e| format!("SIDECAR_EXTRA_CA_FILES: {}: {e}", f.display()))?;
                b.add_root_certificate(cert);
            }
        }
    }
    let tls = tokio_native_tls::TlsConnector::from(b.build().map_err(|e| format!("TLS: {e}"))?);
    Ok(tower::service_fn(move |uri: tonic::codegen::http::Uri| {
        let tls = tls.clone();
        async move {
            let host = uri.host().ok_or("BACKEND_URL has no host")?.trim_matches(['[', ']']).to_string();
            let tcp = tokio::net::TcpStream::connect((host.as_str(), uri.port_u16().unwrap_or(443))).await?;
            tcp.set_nodelay(true)?;
            Ok::<_, BoxError>(hyper_util::rt::TokioIo::new(tls.connect(&host, tcp).await?))
        }
    }))
}

/// The `-----BEGIN CERTIFICATE-----` blocks of a PEM bundle.
fn pem_blocks(pem: &str) -> Vec<String> {
    const END: &str = "-----END CERTIFICATE-----";
    pem.split_inclusive(END)
        .filter(|b| b.contains("-----BEGIN CERTIFICATE-----"))
        .map(|b| b.trim().to_string())
        .collect()
}

/// Deadline of a call that does not wait for work: below the runtime's stop timeout, so a
/// stalled backend never keeps a stopping worker from exiting on its own.
const CALL_MS: u64 = 2000;

/// A request that gives up after `ms` (the backend sees the deadline too).
fn deadline<T>(msg: T, ms: u64) -> tonic::Request<T> {
    let mut r = tonic::Request::new(msg);
    r.set_timeout(Duration::from_millis(ms));
    r
}

fn redact(url: &str) -> String {
    match url.split_once('@') {
        Some((_, rest)) => format!("…@{rest}"),
        None => url.to_string(),
    }
}

async fn work_loop(mut client: Client, me: String, readiness: Readiness, shutdown: Shutdown) {
    let mut backoff = Duration::from_millis(100);
    // The name stored with each job: the replica and its process.
    let worker = format!("{me} (pid {})", std::process::id());
    // Until the backend has answered once, ask without waiting, so readiness is known at once.
    loop {
        let wait_ms = if readiness.is_ready() { 10_000 } else { 0 };
        let mut caller = client.clone();
        let call =
            caller.lease(deadline(v1::LeaseRequest { worker: worker.clone(), wait_ms }, wait_ms as u64 + CALL_MS));
        tokio::pin!(call);
        let leased = tokio::select! {
            biased;
            r = &mut call => r,
            reason = shutdown.wait() => {
                // A job may be on its way: give the call a moment, and hand back what it brings.
                if !reason.is_urgent() {
                    if let Ok(Ok(resp)) = tokio::time::timeout(Duration::from_millis(300), &mut call).await {
                        if let Some(job) = resp.into_inner().job {
                            release(&mut client, &me, &job).await;
                        }
                    }
                }
                return;
            }
        };
        match leased {
            Ok(resp) => {
                backoff = Duration::from_millis(100);
                readiness.set(true, "").await;
                if let Some(job) = resp.into_inner().job {
                    if !run_job(&mut client, &me, job, &shutdown).await {
                        return;
                    }
                }
            }
            Err(e) => {
                let why = format!("backend unavailable: {}", e.message());
                if readiness.is_ready() {
                    println!("{me}: {why}");
                }
                readiness.set(false, why).await;
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = shutdown.wait() => return,
                }
                backoff = (backoff * 2).min(Duration::from_secs(2));
            }
        }
    }
}

/// Gives a leased job back on a graceful stop, so another worker takes it at once.
async fn release(client: &mut Client, me: &str, job: &v1::Job) {
    let r = client.release(deadline(v1::ReleaseRequest { id: job.id, lease_token: job.lease_token.clone() }, CALL_MS));
    match r.await {
        Ok(_) => println!("{me}: released job {} for another worker", job.id),
        Err(e) => println!("{me}: could not release job {}: {}; its lease will expire", job.id, e.message()),
    }
}

/// Runs one job to its end. `false` when the worker is stopping.
async fn run_job(client: &mut Client, me: &str, job: v1::Job, shutdown: &Shutdown) -> bool {
    println!("{me}: job {} (attempt {}, {} bytes)", job.id, job.attempt, job.text.len());
    let outcome = jobs_api::compute(&job.text);
    // Simulated extra work, with the lease extended at a third of its length.
    let work = tokio::time::sleep(Duration::from_millis(job.delay_ms as u64));
    tokio::pin!(work);
    let every = Duration::from_millis((job.lease_ms as u64 / 3).max(50));
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    loop {
        tokio::select! {
            _ = &mut work => break,
            _ = tick.tick() => {
                let r = client.extend(deadline(v1::ExtendRequest { id: job.id, lease_token: job.lease_token.clone() }, CALL_MS)).await;
                if let Err(e) = r {
                    if e.code() == tonic::Code::FailedPrecondition {
                        println!("{me}: job {}: {}; dropping it", job.id, e.message());
                        return true;
                    }
                }
            }
            reason = shutdown.wait() => {
                if !reason.is_urgent() {
                    release(client, me, &job).await;
                }
                return false;
            }
        }
    }
    let done = v1::CompleteRequest {
        id: job.id,
        lease_token: job.lease_token.clone(),
        word_count: outcome.word_count,
        sha256: outcome.sha256.clone(),
    };
    // The result is retried while the backend is briefly away (it may be restarting).
    for attempt in 0..20 {
        match client.complete(deadline(done.clone(), CALL_MS)).await {
            Ok(_) => {
                println!("{me}: job {} done: {} words, sha256 {}", job.id, outcome.word_count, &outcome.sha256[..12]);
                return true;
            }
            Err(e) if matches!(e.code(), tonic::Code::Unavailable | tonic::Code::DeadlineExceeded) && attempt < 19 => {
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(250)) => {}
                    _ = shutdown.wait() => return false,
                }
            }
            Err(e) => {
                println!("{me}: job {}: result not stored: {}", job.id, e.message());
                return true;
            }
        }
    }
    true
}
