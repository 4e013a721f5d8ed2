//! How a function's process ends. Lambda shuts an execution environment down with SIGTERM
//! (then SIGKILL after a grace period); a runtime without a handler dies of the signal. Each
//! main serves its runtime through [`until_sigterm`], so the process exits 0 instead, between
//! invocations (Lambda sends SIGTERM only when no invocation is running).

use std::future::Future;

/// Runs `serve` (the Lambda runtime loop) until it ends or the process receives SIGTERM;
/// SIGTERM is a clean end, `Ok(())`.
pub async fn until_sigterm<E>(serve: impl Future<Output = Result<(), E>>) -> Result<(), E> {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut terminate) = signal(SignalKind::terminate()) else {
        return serve.await;
    };
    tokio::select! {
        result = serve => result,
        _ = terminate.recv() => {
            tracing::info!("SIGTERM: the execution environment is shutting down");
            Ok(())
        }
    }
}
