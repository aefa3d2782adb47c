//! What every command's process shares, below the commands so none of them imports `cli`
//! or another command (docs/ARCHITECTURE.md "Layering"): the async runtime the DataFusion
//! commands run on, the data root check, and Ctrl+C/SIGTERM.

/// Refuses a `--data` that is not a directory: a mistyped path would otherwise read as an
/// empty tree and answer every question with nothing.
pub fn require_data_dir(data: &std::path::Path) -> anyhow::Result<()> {
    if !data.is_dir() {
        anyhow::bail!(
            "data directory {} does not exist: pass --data DIR (or set MDKIT_DATA)",
            data.display()
        );
    }
    Ok(())
}

/// The async runtime the DataFusion commands run their queries on.
pub fn query_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    use anyhow::Context as _;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Completes on Ctrl+C or SIGTERM; never, if neither can be watched. The handlers are
/// installed when this is called (inside a Tokio runtime), not when the future is first
/// polled, so a signal that arrives early is not lost to the default action.
pub fn interrupted() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, Signal, SignalKind};
        let int = signal(SignalKind::interrupt()).ok();
        let term = signal(SignalKind::terminate()).ok();
        async fn wait(signal: Option<Signal>) {
            match signal {
                Some(mut signal) => {
                    signal.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        }
        async move {
            tokio::select! {
                () = wait(int) => {}
                () = wait(term) => {}
            }
        }
    }
    #[cfg(not(unix))]
    async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
