//! `mdkit ballista` (cargo feature `ballista`): an Apache Ballista scheduler and its
//! executors, which run `sql --engine` statements over the tables
//! (docs/ARCHITECTURE.md "A Ballista cluster").
//!
//! One process serves the scheduler and `--executors` executors; `--join` starts executors
//! only, on another machine, registered with a running scheduler. Every process opens the
//! buckets a query names with its own S3 settings (the AWS variables and `--s3-endpoint`),
//! through [`crate::storage::ballista`]. The planning and the execution are Ballista's.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use ballista_core::config::TaskSchedulingPolicy;
use ballista_core::registry::BallistaFunctionRegistry;
use ballista_core::serde::protobuf::scheduler_grpc_client::SchedulerGrpcClient;
use ballista_core::serde::BallistaCodec;
use ballista_core::{ConfigProducer, RuntimeProducer};
use ballista_executor::executor_process::{start_executor_process, ExecutorProcessConfig};
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::metrics::default_metrics_collector;
use ballista_scheduler::scheduler_process::start_grpc_service_with_listener;
use ballista_scheduler::scheduler_server::{SchedulerServer, SessionBuilder};

use crate::storage::ballista::{server_config, server_state};
use crate::storage::Engine;

const EXAMPLES: &str = "\
Examples:
  mdkit ballista --bind 127.0.0.1:50050 --executors 2
  mdkit --s3-endpoint http://127.0.0.1:9000 ballista --bind 0.0.0.0:50050
  mdkit --data s3://bucket/prefix sql --engine ballista://127.0.0.1:50050 \"SELECT count(*) FROM trades\"
  mdkit ballista --join ballista://10.0.0.5:50050 --bind 10.0.0.6:50051   # another machine

The first line on stdout is the scheduler's URL (ballista://HOST:PORT; --bind with port 0
picks a free port). Ctrl+C stops the scheduler and its executors.";

/// Run a Ballista scheduler with executors, for `sql --engine`
#[derive(Debug, clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    /// Address the scheduler listens on (port 0: any free port, printed on stdout); with
    /// --join, the address this machine's executor listens on and is reached at
    #[arg(long, default_value = "127.0.0.1:50050")]
    pub bind: SocketAddr,
    /// Executors to run in this process (each with --vcores task slots)
    #[arg(long, default_value_t = 1)]
    pub executors: usize,
    /// Task slots per executor [default: the machine's cores]
    #[arg(long)]
    pub vcores: Option<usize>,
    /// Start no scheduler: run one executor that registers with the scheduler at this URL
    #[arg(long, value_name = "ballista://HOST:PORT")]
    pub join: Option<Engine>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let vcores =
        args.vcores.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    anyhow::ensure!(vcores > 0, "--vcores must be at least 1");
    let runtime = tokio::runtime::Runtime::new().context("cannot start the runtime")?;
    runtime.block_on(async move {
        match args.join {
            Some(Engine::Ballista { scheduler }) => join(&scheduler, args.bind, vcores).await,
            Some(Engine::Local) => anyhow::bail!("--join needs ballista://HOST:PORT"),
            None => serve(args.bind, args.executors, vcores).await,
        }
    })
}

/// The scheduler on `bind`, and `executors` executors in this process, until Ctrl+C.
async fn serve(bind: SocketAddr, executors: usize, vcores: usize) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .with_context(|| format!("cannot listen on {bind} (--bind)"))?;
    let address = listener.local_addr().context("the scheduler's address")?;
    let session_builder: SessionBuilder = Arc::new(server_state);
    let config_producer: ConfigProducer = Arc::new(server_config);
    let cluster =
        BallistaCluster::new_memory(address.to_string(), session_builder, config_producer);
    let config = SchedulerConfig::default().with_scheduler_policy(TaskSchedulingPolicy::PullStaged);
    let mut scheduler: SchedulerServer<_, _> = SchedulerServer::new(
        address.to_string(),
        cluster,
        BallistaCodec::default(),
        Arc::new(config),
        default_metrics_collector().map_err(|e| anyhow::anyhow!("{e}"))?,
    );
    scheduler.init().await.map_err(|e| anyhow::anyhow!("cannot start the scheduler: {e}"))?;
    let serving = tokio::spawn(start_grpc_service_with_listener(listener, scheduler));

    let state = server_state(server_config())?;
    for _ in 0..executors {
        let client = SchedulerGrpcClient::connect(format!("http://{address}"))
            .await
            .with_context(|| format!("cannot reach the scheduler at {address}"))?;
        ballista_executor::new_standalone_executor_from_state(client, vcores, &state)
            .await
            .map_err(|e| anyhow::anyhow!("cannot start an executor: {e}"))?;
    }
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "ballista://{address}").context("cannot write the address")?;
    stdout.flush().context("cannot write the address")?;
    drop(stdout);
    tracing::info!(
        "scheduler at ballista://{address} with {executors} executor(s) of {vcores} slot(s)"
    );
    tokio::select! {
        done = serving => match done {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(anyhow::anyhow!("the scheduler stopped: {e}")),
            Err(e) => Err(anyhow::anyhow!("the scheduler stopped: {e}")),
        },
        _ = tokio::signal::ctrl_c() => Ok(()),
    }
}

/// One executor serving on `bind` (its port and the next one), registered with the
/// scheduler at `scheduler`, until it stops.
async fn join(scheduler: &str, bind: SocketAddr, vcores: usize) -> anyhow::Result<()> {
    let (host, port) = scheduler.rsplit_once(':').context("--join needs HOST:PORT")?;
    let port: u16 = port.parse().with_context(|| format!("--join {scheduler}: bad port"))?;
    anyhow::ensure!(
        bind.port() != 0 && !bind.ip().is_unspecified(),
        "--join needs --bind HOST:PORT with the address the scheduler and clients reach this machine at (not {bind})"
    );
    let runtime: RuntimeProducer =
        Arc::new(|config| Ok(server_state(config.clone())?.runtime_env().clone()));
    // The window functions' twins, so plans with IGNORE NULLS decode here as on the scheduler.
    let functions = BallistaFunctionRegistry::from(&server_state(server_config())?);
    let config = ExecutorProcessConfig {
        bind_host: bind.ip().to_string(),
        external_host: Some(bind.ip().to_string()),
        port: bind.port(),
        grpc_port: bind.port().saturating_add(1),
        scheduler_host: host.to_owned(),
        scheduler_port: port,
        vcores,
        override_runtime_producer: Some(runtime),
        override_config_producer: Some(Arc::new(server_config)),
        override_function_registry: Some(Arc::new(functions)),
        ..ExecutorProcessConfig::default()
    };
    start_executor_process(Arc::new(config))
        .await
        .map_err(|e| anyhow::anyhow!("the executor stopped: {e}"))
}
