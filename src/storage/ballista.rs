//! The tables on an Apache Ballista cluster (cargo feature `ballista`): a client context
//! whose queries a scheduler plans and its executors run, and the runtime a scheduler or an
//! executor reads the tables with (docs/ARCHITECTURE.md "A Ballista cluster").
//!
//! The client registers the same tables as a local [`super::Session`]; each query's logical
//! plan goes to the scheduler, which lists the table folders and reads the footers with its
//! own store, so the tree must be reachable from every machine of the cluster by the same
//! URL (`s3://bucket/prefix`, or a path every machine mounts). Buckets are opened with this
//! process's S3 settings (the AWS variables and `--s3-endpoint`).

use std::sync::Arc;

use ballista_core::extension::{SessionConfigExt, SessionStateExt};
use datafusion::execution::object_store::{DefaultObjectStoreRegistry, ObjectStoreRegistry};
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::execution::session_state::{SessionState, SessionStateBuilder};
use datafusion::prelude::{SessionConfig, SessionContext};
use object_store::ObjectStore;
use url::Url;

use super::StorageError;

/// A context whose queries run on the scheduler at `scheduler` (`host:port`).
pub fn client(scheduler: &str, config: SessionConfig) -> Result<SessionContext, StorageError> {
    // The scheduler is reached at the first statement; a wrong address is named here instead,
    // in one line.
    let unreachable = |e: std::io::Error| {
        StorageError::Refused(format!(
            "cannot reach the Ballista scheduler at {scheduler} (is `mdkit ballista` running there?): {e}"
        ))
    };
    let address = std::net::ToSocketAddrs::to_socket_addrs(scheduler)
        .map_err(unreachable)?
        .next()
        .ok_or_else(|| unreachable(std::io::Error::other("no address")))?;
    std::net::TcpStream::connect_timeout(&address, std::time::Duration::from_secs(10))
        .map_err(unreachable)?;
    // Ballista's static planner: its adaptive one (the default) never finishes a job that
    // merges sorted UNION branches whose sort key holds a constant column (its sanity check
    // loses the constants at the exchange); the static one runs it and returns local
    // DataFusion's rows.
    let config = config
        .upgrade_for_ballista()
        .set_bool(ballista_core::config::BALLISTA_ADAPTIVE_PLANNER_ENABLED, false);
    let state = SessionStateBuilder::new()
        .with_config(config)
        .with_runtime_env(runtime()?)
        .with_default_features()
        .build()
        .upgrade_for_ballista(format!("http://{scheduler}"))
        .map_err(StorageError::datafusion)?;
    let ctx = SessionContext::new_with_state(state);
    // Ballista 55 drops IGNORE NULLS from lag, last_value … on the way to the executors; the
    // functions' twins keep it (super::ignore_nulls).
    ctx.add_analyzer_rule(Arc::new(super::ignore_nulls::KeepIgnoreNulls));
    Ok(ctx)
}

/// The configuration a scheduler and its executors start from.
pub fn server_config() -> SessionConfig {
    SessionConfig::new_with_ballista().with_information_schema(true)
}

/// A session state over `config` that reads `s3://` tables with this process's S3 settings
/// and knows the twins of the window functions (super::ignore_nulls): what a scheduler plans
/// each query with, and what an executor runs its tasks with.
pub fn server_state(config: SessionConfig) -> datafusion::error::Result<SessionState> {
    let runtime = runtime().map_err(|e| datafusion::error::DataFusionError::External(e.into()))?;
    let mut state = SessionStateBuilder::new()
        .with_config(config)
        .with_runtime_env(runtime)
        .with_default_features()
        .build();
    super::ignore_nulls::register_twins(&mut state)?;
    Ok(state)
}

/// A runtime whose object stores include every bucket an `s3://` URL names.
pub fn runtime() -> Result<Arc<RuntimeEnv>, StorageError> {
    RuntimeEnvBuilder::new()
        .with_object_store_registry(Arc::new(Buckets::default()))
        .build_arc()
        .map_err(StorageError::datafusion)
}

/// The local file system, and a bucket for each `s3://bucket` asked for, opened on first use.
#[derive(Debug, Default)]
struct Buckets {
    known: DefaultObjectStoreRegistry,
}

impl ObjectStoreRegistry for Buckets {
    fn register_store(
        &self,
        url: &Url,
        store: Arc<dyn ObjectStore>,
    ) -> Option<Arc<dyn ObjectStore>> {
        self.known.register_store(url, store)
    }

    fn deregister_store(&self, url: &Url) -> datafusion::error::Result<Arc<dyn ObjectStore>> {
        self.known.deregister_store(url)
    }

    fn get_store(&self, url: &Url) -> datafusion::error::Result<Arc<dyn ObjectStore>> {
        if let Ok(store) = self.known.get_store(url) {
            return Ok(store);
        }
        if url.scheme() != "s3" {
            return self.known.get_store(url);
        }
        let bucket = url.host_str().unwrap_or_default();
        let fail = |e: StorageError| datafusion::error::DataFusionError::External(e.into());
        let bucket_url = format!("{}{bucket}", super::remote::SCHEME);
        let root = std::path::PathBuf::from(&bucket_url);
        let (_, store) = match super::remote::store_for(&root) {
            Ok(found) => found,
            Err(_) => {
                let endpoint = super::remote::default_endpoint();
                let root = super::remote::open(&bucket_url, endpoint.as_deref()).map_err(fail)?;
                super::remote::store_for(&root).map_err(fail)?
            }
        };
        self.known.register_store(url, Arc::clone(&store));
        Ok(store)
    }
}
