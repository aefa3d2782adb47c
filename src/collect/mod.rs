//! `mdkit collect`: the long-running recorder.
//!
//! Data flow (docs/ARCHITECTURE.md "Concurrency"): one task per WebSocket connection ([`connection`]:
//! read a frame, stamp `ts_recv`, send it on) under a supervisor per market and stream that
//! reconnects with capped exponential backoff and jitter → one **bounded** channel → one
//! writer thread ([`station`]) that owns every market's journal, recorder and open Parquet
//! parts (`record::Market`): it journals each frame before it is parsed, applies the venue's
//! rules, and tells a connection to close when its stream breaks. Ctrl+C or SIGTERM: the
//! connections close, the channel drains, every market takes a last checkpoint, exit 0.
//!
//! The connection task does not parse frames (docs/ARCHITECTURE.md puts parsing there): journaling and
//! parsing in one thread, in one order, is what makes a replay of the journal write exactly
//! the rows the live run wrote. This module owns flags, settings and the runtime; it must not
//! interpret frames.

mod connection;
mod daily;
mod http;
mod metrics;
mod station;
mod status;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU32;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use self::connection::{supervise, Link};
use self::station::{Inbound, Station};
use crate::model::{parse_duration, RecvTime};
use crate::record::{Market, MarketConfig};
use crate::storage::{check_name, Retention, WriterConfig, BOOK_TOP_LEVELS};
use crate::venue::{Endpoints, LinkSpec, Venue, Wanted};

const LONG_ABOUT: &str = "\
Record a venue's public L2 order book and trades into the depth, book_top, trades and events \
tables, resumably.

Every frame is written to a journal (<data>/_journal/<venue>/<MARKET>/) with its receive time \
before it is parsed; Parquet parts are published at checkpoints (every --commit-every, when a \
part fills up, at UTC midnight and at exit), after the state file <data>/_state/<venue>/<MARKET>.json \
records them. After a crash or kill -9 the next start replays the journal tail, so nothing that \
reached the journal is lost and no row is written twice. Ctrl+C (or SIGTERM) closes the \
connections, publishes everything and exits 0.

A sequence break, a venue error, an unreadable frame or a book stream silent for --stale-after \
writes an events row, drops that connection's book and reconnects; the book is rebuilt from the \
next snapshot. Trades are deduplicated by trade id across reconnects and restarts. How each \
venue is connected to (URLs, subscriptions, REST snapshots) is its link plan: docs/VENUES.md.

Settings can also come from a JSON file (--config, default ./config.json when it exists) with \
the original recorder's names: markets, data_directory, collect_orderbook, collect_trades, \
max_depth_levels, and url, rest_url. Flags override the file.

Local run against the simulator:
  mdkit simulate --speed 10 &            # prints: listening on ws://127.0.0.1:PORT
  mdkit collect ETH-USD --url ws://127.0.0.1:PORT
  mdkit simulate --venue VENUE --market MARKET --speed 10 &    # any --venue below
  mdkit collect MARKET --venue VENUE --url ws://127.0.0.1:PORT   # REST, if any, on the same port";

/// Record a venue's L2 book and trades into the tables (long-running; Ctrl+C to stop).
#[derive(Debug, Clone, clap::Args)]
#[command(long_about = LONG_ABOUT)]
pub struct Args {
    /// Markets to record, e.g. ETH-USD BTC-USD (default: "markets" from the config file)
    #[arg(value_name = "MARKET")]
    pub markets: Vec<String>,
    /// Venue to record from
    #[arg(long, value_enum, default_value_t = Venue::Extended)]
    pub venue: Venue,
    /// The venue's stream base URL (config: url); default: the venue's production endpoint.
    /// A bare ws://HOST:PORT, as `mdkit simulate` prints, reaches the local simulator (the
    /// venue's path is appended); docs/VENUES.md lists each venue's URLs.
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// The REST snapshot endpoint, for venues whose book starts from one (config: rest_url);
    /// default: the venue's, or with a ws:// --url the same host and port over http://.
    #[arg(long, value_name = "URL")]
    pub rest_url: Option<String>,
    /// Book levels per side in book_top (1-20; config: max_depth_levels)
    #[arg(long)]
    pub levels: Option<usize>,
    /// JSON settings file (default: ./config.json if it exists)
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Do not record the order book (config: collect_orderbook=false)
    #[arg(long)]
    pub no_orderbook: bool,
    /// Do not record trades (config: collect_trades=false)
    #[arg(long)]
    pub no_trades: bool,
    /// Reconnect a book stream that sent nothing for this long (a quiet trades stream is normal)
    #[arg(long, value_parser = parse_duration, default_value = "90s")]
    pub stale_after: Duration,
    /// Publish Parquet parts at least this often
    #[arg(long, value_parser = parse_duration, default_value = "15m")]
    pub commit_every: Duration,
    /// Fsync the journal this often
    #[arg(long, value_parser = parse_duration, default_value = "200ms")]
    pub sync_every: Duration,
    /// First reconnect delay; doubles per failed attempt (with jitter) up to --backoff-max
    #[arg(long, value_parser = parse_duration, default_value = "250ms")]
    pub backoff_min: Duration,
    #[arg(long, value_parser = parse_duration, default_value = "30s")]
    pub backoff_max: Duration,
    /// A connection that delivered frames this long resets the backoff (the first reconnect
    /// after a connection that delivered anything is immediate)
    #[arg(long, value_parser = parse_duration, default_value = "3s")]
    pub stable_after: Duration,
    /// Delete journal segments once their rows are published, instead of keeping them
    /// ZSTD-compressed in <data>/_journal/<venue>/<MARKET>/archive/ (kept by default, so `mdkit
    /// import --from-format journal` can rebuild the tables)
    #[arg(long, conflicts_with = "keep_journal")]
    pub discard_journal: bool,
    /// Serve Prometheus metrics at http://ADDR/metrics and a liveness check at /healthz (503
    /// when a market has been silent past --stale-after). A bare port binds loopback
    /// (127.0.0.1:PORT); give an address (0.0.0.0:9464) to listen beyond this machine
    #[arg(long, value_name = "ADDR", value_parser = parse_listen)]
    pub metrics: Option<SocketAddr>,
    /// Keep only this much of the journal archive per market: an age (7d, 12h) or a size
    /// (50GB, 500MB); the oldest archived segments go first, never one not yet committed
    #[arg(long, value_name = "AGE|SIZE")]
    pub keep_journal: Option<Retention>,
    /// After UTC midnight, compact each market's previous day into a few parts (as `mdkit
    /// compact` does), on a thread of its own while recording goes on
    #[arg(long)]
    pub compact_daily: bool,
    /// Stop by itself after this much wall time (as Ctrl+C would); default: run until stopped
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<Duration>,
}

/// The config file's recorder settings (other keys, e.g. strategy settings, are ignored).
#[derive(Debug, Default, serde::Deserialize)]
struct FileConfig {
    markets: Option<Vec<String>>,
    data_directory: Option<PathBuf>,
    collect_orderbook: Option<bool>,
    collect_trades: Option<bool>,
    max_depth_levels: Option<usize>,
    url: Option<String>,
    rest_url: Option<String>,
}

/// Validated settings of one recorder run.
#[derive(Debug, Clone)]
pub struct Config {
    pub data: PathBuf,
    pub venue: Venue,
    pub markets: Vec<String>,
    /// Per market (in `markets` order): the connections the venue's link plan asks for.
    pub links: Vec<Vec<LinkSpec>>,
    pub market: MarketConfig,
    pub commit_every: Duration,
    pub sync_every: Duration,
    pub backoff: Backoff,
    pub duration: Option<Duration>,
    /// `--metrics`: where to serve them, and the staleness limit `/healthz` judges by.
    pub metrics: Option<SocketAddr>,
    pub stale_after: Duration,
    /// `--compact-daily`.
    pub compact_daily: bool,
}

/// `--metrics`: `127.0.0.1:9464`, `[::1]:9464`, or a bare port (loopback).
fn parse_listen(text: &str) -> Result<SocketAddr, String> {
    if let Ok(port) = text.trim().parse::<u16>() {
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    text.trim().parse().map_err(|_| {
        format!("{text:?} is not an address to listen on: use 127.0.0.1:9464 or a port")
    })
}

/// Reconnect delays: `min · 2^attempt`, capped at `max`, with jitter; `attempt` returns to
/// 0 after a connection delivered frames for `stable_after`.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub min: Duration,
    pub max: Duration,
    pub stable_after: Duration,
}

impl Config {
    /// Merges flags over the config file; `data` is the `--data` flag if given.
    pub fn new(data: Option<&Path>, args: Args) -> anyhow::Result<Self> {
        let file = read_file_config(args.config.as_deref())?;
        let venue = args.venue;
        let mut markets = if args.markets.is_empty() {
            file.markets.clone().unwrap_or_default()
        } else {
            args.markets.clone()
        };
        // Spelled as the venue's frames and the tables spell them (as `import` stores them).
        markets.iter_mut().for_each(|m| *m = venue.market_name(m));
        anyhow::ensure!(
            !markets.is_empty(),
            "name at least one market to record, e.g. `mdkit collect ETH-USD` (or \"markets\" in config.json)"
        );
        for market in &markets {
            check_name("market", market)?;
        }
        let mut unique = markets.clone();
        unique.sort();
        unique.dedup();
        anyhow::ensure!(unique.len() == markets.len(), "a market is named twice: {markets:?}");
        let data = data
            .map(Path::to_path_buf)
            .or(file.data_directory.clone())
            .unwrap_or_else(|| PathBuf::from("./data"));
        let endpoints = Endpoints {
            url: args.url.clone().or(file.url.clone()),
            rest_url: args.rest_url.clone().or(file.rest_url.clone()),
        };
        let wanted = Wanted {
            book: !args.no_orderbook && file.collect_orderbook != Some(false),
            trades: !args.no_trades && file.collect_trades != Some(false),
            stale_after: args.stale_after,
        };
        anyhow::ensure!(
            wanted.book || wanted.trades,
            "both the order book and trades are switched off: nothing to record"
        );
        let levels = args.levels.or(file.max_depth_levels).unwrap_or(BOOK_TOP_LEVELS);
        anyhow::ensure!(
            (1..=BOOK_TOP_LEVELS).contains(&levels),
            "--levels must be 1 to {BOOK_TOP_LEVELS} (book_top holds {BOOK_TOP_LEVELS}), not {levels}"
        );
        anyhow::ensure!(!args.stale_after.is_zero(), "--stale-after must be above zero");
        anyhow::ensure!(!args.commit_every.is_zero(), "--commit-every must be above zero");
        anyhow::ensure!(
            args.backoff_min <= args.backoff_max,
            "--backoff-min must not exceed --backoff-max"
        );
        let links = markets
            .iter()
            .map(|m| venue.plan(m, &endpoints, wanted))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            data,
            venue,
            markets,
            links,
            market: MarketConfig {
                levels,
                writer: WriterConfig::default(),
                batch_rows: 4096,
                keep_journal: !args.discard_journal,
                retention: args.keep_journal.unwrap_or_default(),
                upload: None,
            },
            commit_every: args.commit_every,
            sync_every: args.sync_every,
            backoff: Backoff {
                min: args.backoff_min,
                max: args.backoff_max,
                stable_after: args.stable_after,
            },
            duration: args.duration,
            metrics: args.metrics,
            stale_after: args.stale_after,
            compact_daily: args.compact_daily,
        })
    }
}

fn read_file_config(path: Option<&Path>) -> anyhow::Result<FileConfig> {
    let Some(source) = crate::process::config_source(path) else {
        return Ok(FileConfig::default());
    };
    let text = std::fs::read_to_string(&source.path)
        .with_context(|| format!("cannot read the settings file {source}"))?;
    serde_json::from_str(&text)
        .with_context(|| format!("bad settings in {}", source.path.display()))
}

/// Every key a settings file may hold for the recorder.
pub const CONFIG_KEYS: &[&str] = &[
    "markets",
    "data_directory",
    "collect_orderbook",
    "collect_trades",
    "max_depth_levels",
    "url",
    "rest_url",
];

/// Whether a settings file's recorder keys have values of the right type.
pub fn check_config(path: &Path) -> anyhow::Result<()> {
    read_file_config(Some(path)).map(|_| ())
}

/// Runs the recorder until Ctrl+C, SIGTERM or `--duration`.
/// Records into `data`; with `upload`, each committed part is also published to a remote
/// tree (`--data s3://…` records into the spool).
pub fn run(
    data: Option<&Path>,
    upload: Option<crate::storage::Uploader>,
    args: Args,
) -> anyhow::Result<()> {
    let mut config = Config::new(data, args)?;
    config.market.upload = upload;
    let now = RecvTime::now();
    let mut markets = Vec::new();
    for name in &config.markets {
        let (market, opened) =
            Market::open(&config.data, config.venue, name, config.market.clone(), now)
                .with_context(|| format!("cannot open {}/{name} for recording", config.venue))?;
        if opened.replayed > 0 || opened.finished > 0 || opened.swept > 0 {
            tracing::info!(
                market = %name,
                replayed = opened.replayed,
                finished_parts = opened.finished,
                swept_temp_parts = opened.swept,
                "resumed after an unclean stop"
            );
        }
        markets.push(market);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    if config.venue == Venue::BinanceCoinm {
        runtime.block_on(coinm_contracts(&config));
    }
    runtime.block_on(record(config, markets))
}

/// Stores each COIN-M market's contract as Binance's exchangeInfo gives it (`contractSize`),
/// next to the REST depth endpoint. Opening the market stored Binance's documented rule
/// already; when exchangeInfo cannot be read that one stays, with a warning.
async fn coinm_contracts(config: &Config) {
    use crate::storage::{StoredContract, CONTRACT_VERSION};
    use crate::venue::binance;
    for (market, specs) in config.markets.iter().zip(&config.links) {
        let depth = specs.iter().find_map(|s| s.rest.as_ref().map(|r| r.url.as_str()));
        let Some(url) = depth.and_then(binance::exchange_info_url) else { continue };
        let fetched = http::get(&url, crate::venue::USER_AGENT, Duration::from_secs(10)).await;
        let contract = fetched
            .map_err(|e| e.to_string())
            .and_then(|body| binance::contract_from_exchange_info(&body, market));
        let contract = match contract {
            Ok(contract) => contract,
            Err(reason) => {
                tracing::warn!(%market, %reason, "exchangeInfo unreadable: the contract stays as stored (Binance's documented sizes)");
                continue;
            }
        };
        let stored = StoredContract {
            version: CONTRACT_VERSION,
            venue: config.venue.name().to_owned(),
            market: market.clone(),
            contract,
            source: format!("contractSize of {url}"),
        };
        match stored.save(&config.data) {
            Ok(()) => tracing::info!(%market, %contract, "contract from exchangeInfo"),
            Err(e) => tracing::warn!(%market, error = %e, "cannot store the contract"),
        }
    }
}

async fn record(config: Config, markets: Vec<Market>) -> anyhow::Result<()> {
    let interrupted = crate::process::interrupted();
    let (tx, rx) = mpsc::channel::<Inbound>(8192);
    let (stop_tx, stop_rx) = watch::channel(false);
    let stop_tx = Arc::new(stop_tx);
    let next_conns: Vec<Arc<AtomicU32>> =
        markets.iter().map(|m| Arc::new(AtomicU32::new(m.next_conn()))).collect();
    let mut station =
        Station::new(markets, config.commit_every, config.sync_every, stop_tx.clone());
    if config.compact_daily {
        station = station.with_daily(daily::Daily::new(config.data.clone(), config.markets.len()));
    }
    let mut server = None;
    if let Some(addr) = config.metrics {
        let board = metrics::Board::new(config.stale_after);
        station = station.with_board(board.clone());
        let (bound, task) = metrics::start(addr, board, stop_rx.clone())
            .await
            .with_context(|| format!("cannot serve --metrics on {addr}"))?;
        // Always shown: the address is what an operator (or a test, with port 0) needs.
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            format!("metrics: http://{bound}/metrics and http://{bound}/healthz\n").as_bytes(),
        );
        server = Some(task);
    }
    let writer = std::thread::Builder::new()
        .name("mdkit-writer".into())
        .spawn(move || station.run(rx))
        .context("cannot start the writer thread")?;

    let mut tasks = JoinSet::new();
    for (index, specs) in config.links.iter().enumerate() {
        for spec in specs {
            let link = Link {
                market: index,
                spec: spec.clone(),
                next_conn: next_conns[index].clone(),
                tx: tx.clone(),
                stop: stop_rx.clone(),
                backoff: config.backoff,
            };
            tasks.spawn(supervise(link));
        }
    }
    let ticker = {
        let tx = tx.clone();
        let mut stop = stop_rx.clone();
        async move {
            let mut every = tokio::time::interval(Duration::from_millis(100));
            loop {
                tokio::select! {
                    _ = every.tick() => if tx.send(Inbound::Tick).await.is_err() { break },
                    _ = stop.changed() => break,
                }
            }
        }
    };
    tasks.spawn(ticker);
    drop(tx);

    let duration = config.duration;
    let stopper = async move {
        let limit = async {
            match duration {
                Some(d) => tokio::time::sleep(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = interrupted => tracing::info!("stopping: signal received"),
            () = limit => tracing::info!("stopping: --duration reached"),
        }
        let _ = stop_tx.send(true);
    };
    let stopper = tokio::spawn(stopper);
    while let Some(done) = tasks.join_next().await {
        done.context("a connection task failed")?;
    }
    stopper.abort();
    if let Some(server) = server {
        server.abort();
    }
    let outcome = tokio::task::spawn_blocking(move || writer.join())
        .await
        .context("cannot wait for the writer thread")?;
    match outcome {
        Ok(result) => result,
        Err(_) => {
            anyhow::bail!("the writer thread panicked; the journal holds every frame it was given")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::Stream;
    use clap::Parser as _;

    #[derive(clap::Parser)]
    struct Wrap {
        #[command(flatten)]
        args: Args,
    }

    fn args(line: &[&str]) -> Args {
        Wrap::parse_from(std::iter::once("collect").chain(line.iter().copied())).args
    }

    #[test]
    fn the_config_file_uses_the_original_recorders_names_and_flags_override_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.json");
        std::fs::write(
            &file,
            r#"{"markets": ["BTC-USD", "SOL-USD"], "data_directory": "/srv/md", "collect_trades": false,
                "max_depth_levels": 10, "gamma": 0.1}"#,
        )
        .unwrap();
        let path = file.to_str().unwrap();
        let config = Config::new(None, args(&["--config", path])).unwrap();
        assert_eq!(config.markets, ["BTC-USD", "SOL-USD"]);
        assert_eq!(config.data, PathBuf::from("/srv/md"));
        let streams: Vec<Stream> = config.links[0].iter().map(|l| l.stream).collect();
        assert_eq!(streams, [Stream::Book]);
        assert_eq!(config.market.levels, 10);
        let config = Config::new(
            Some(Path::new("here")),
            args(&["ETH-USD", "--config", path, "--levels", "5", "--url", "ws://127.0.0.1:9"]),
        )
        .unwrap();
        assert_eq!(
            (config.markets.as_slice(), config.market.levels),
            (&["ETH-USD".to_owned()][..], 5)
        );
        assert_eq!(config.data, PathBuf::from("here"));
        assert_eq!(
            config.links[0][0].url,
            "ws://127.0.0.1:9/stream.extended.exchange/v1/orderbooks/ETH-USD"
        );
    }

    #[test]
    fn the_venue_plans_the_links_and_spells_the_markets() {
        // A venue whose one connection carries every stream and whose book starts from REST.
        let venue = Venue::ALL.into_iter().find(|v| v.combined()).unwrap();
        let config = Config::new(None, args(&["btcusdt", "--venue", venue.name()])).unwrap();
        assert_eq!(config.markets, ["BTCUSDT"]);
        assert_eq!(config.links[0].len(), 1);
        assert_eq!(config.links[0][0].stream, Stream::Combined);
        assert!(config.links[0][0].rest.is_some());
        let err = Config::new(None, args(&["ETH-USD", "--rest-url", "http://h/d"])).unwrap_err();
        assert!(err.to_string().contains("--rest-url is not used by extended"), "{err}");
        let err = Wrap::try_parse_from(["collect", "X", "--venue", "nasdaq"]).err().unwrap();
        assert!(err.to_string().contains(venue.name()), "{err}");
    }

    #[test]
    fn a_bad_config_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.json");
        std::fs::write(&file, "{ markets: oops").unwrap();
        let err = Config::new(None, args(&["--config", file.to_str().unwrap()])).unwrap_err();
        assert!(format!("{err:#}").contains("config.json"), "{err:#}");
        let missing = Config::new(None, args(&["--config", "/nonexistent/c.json"])).unwrap_err();
        assert!(
            format!("{missing:#}").contains("cannot read the settings file /nonexistent/c.json"),
            "{missing:#}"
        );
    }
}
