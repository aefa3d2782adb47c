//! What every command's process shares, below the commands so none of them imports `cli`
//! or another command (docs/ARCHITECTURE.md "Layering"): the async runtime the DataFusion
//! commands run on, the data root check, and Ctrl+C/SIGTERM.

/// Refuses a `--data` that is not a directory: a mistyped path would otherwise read as an
/// empty tree and answer every question with nothing.
pub fn require_data_dir(data: &std::path::Path) -> anyhow::Result<()> {
    if crate::storage::remote::is_remote(data) {
        return match crate::storage::remote::entries(data) {
            Ok(found) if !found.is_empty() => Ok(()),
            Ok(_) => anyhow::bail!(
                "nothing is stored under {}: check the bucket and prefix of --data",
                data.display()
            ),
            Err(e) => anyhow::bail!("cannot list {}: {e}", data.display()),
        };
    }
    if !crate::storage::remote::is_dir(data) {
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

/// Where a settings file came from: the one rule every command follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigOrigin {
    /// `--config FILE`.
    Flag,
    /// The `MDKIT_CONFIG` environment variable.
    Env,
    /// `./config.json` in the working directory.
    WorkingDir,
}

/// A settings file found by [`config_source`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigSource {
    pub path: std::path::PathBuf,
    pub origin: ConfigOrigin,
}

impl std::fmt::Display for ConfigSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let how = match self.origin {
            ConfigOrigin::Flag => "--config",
            ConfigOrigin::Env => "MDKIT_CONFIG",
            ConfigOrigin::WorkingDir => "the working directory",
        };
        write!(f, "{} (from {how})", self.path.display())
    }
}

/// The settings file of a command: `--config FILE`, else `MDKIT_CONFIG`, else
/// `./config.json` when it exists, else none.
pub fn config_source(flag: Option<&std::path::Path>) -> Option<ConfigSource> {
    if let Some(path) = flag {
        return Some(ConfigSource { path: path.to_path_buf(), origin: ConfigOrigin::Flag });
    }
    if let Some(path) = std::env::var_os("MDKIT_CONFIG").filter(|p| !p.is_empty()) {
        return Some(ConfigSource { path: path.into(), origin: ConfigOrigin::Env });
    }
    let local = std::path::PathBuf::from("config.json");
    local.is_file().then_some(ConfigSource { path: local, origin: ConfigOrigin::WorkingDir })
}

/// Reads a settings file as a JSON object.
pub fn read_config(
    source: &ConfigSource,
) -> anyhow::Result<serde_json::Map<String, serde_json::Value>> {
    use anyhow::Context as _;
    let text = std::fs::read_to_string(&source.path)
        .with_context(|| format!("cannot read the settings file {source}"))?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not JSON", source.path.display()))?;
    match value {
        serde_json::Value::Object(map) => Ok(map),
        _ => anyhow::bail!("{} must hold one JSON object of settings", source.path.display()),
    }
}

/// `unknown setting "gama" — did you mean "gamma"?`: the nearest known name, when one is
/// close enough to be a typo.
pub fn unknown_setting(key: &str, known: &[&str]) -> String {
    let nearest = known
        .iter()
        .map(|k| (strsim::damerau_levenshtein(key, k), *k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 4))
        .min();
    match nearest {
        Some((_, k)) => format!("unknown setting {key:?} — did you mean {k:?}?"),
        None => format!("unknown setting {key:?} (see `mdkit config show`)"),
    }
}
