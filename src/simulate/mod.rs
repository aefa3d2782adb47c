//! `mdkit simulate`: a local Extended venue on 127.0.0.1, driven by a synthetic market whose
//! true parameters are printed, with fault injection. Tests and newcomers use it instead of
//! the internet.
//!
//! Data flow: [`market`] steps one market (latent mid, book, aggressive orders; docs/MODEL.md) →
//! [`hub`] steps every market on one simulated clock, spells each step once with [`wire`]
//! (docs/VENUES.md §1, §2), logs it with [`log`], and broadcasts it on a bounded channel →
//! [`server`] runs one task per WebSocket connection, numbering frames (seq) and passing them
//! through that connection's [`fault`] injector. This module owns the command line, the
//! validated [`Config`] and [`run`]; it must not be imported by other subcommands.
//!
//! Protocol served (see `server` for details): `/stream.extended.exchange/v1/orderbooks/{m}`
//! (`?depth=1` too), `/stream.extended.exchange/v1/publicTrades/{m}`,
//! `/stream.extended.exchange/v2/rpc` (subscribe, unsubscribe, ping, list-subscriptions for the
//! `orderbooks` and `trades` scopes). Without a `User-Agent` header the upgrade is refused with
//! HTTP 403; an unknown market gets the error envelope (code 1001) and a close.
//!
//! Fault grammar (`--fault`, repeatable, or `"faults"` in a `--scenario` JSON file):
//! `KIND[=ARGS][@[STREAM:]CONN]` with `disconnect=N`, `skip=N`, `duplicate=N`, `swap=N`,
//! `malformed=N`, `stall=N`, `burst=N:K`, `http429=N`, `bad=K[:KIND+KIND…]`; N counts data
//! frames of the connection from 1, CONN counts accepted WebSocket connections from 1
//! (default 1; `bad=K` without `@` applies to every connection). See [`fault`] and [`bad`].
//!
//! With `--venue binance-spot|binance-usdm|binance-coinm` the same market is served as Binance
//! (combined WebSocket stream and REST depth snapshot on the same port; see [`binance`]); with
//! `--venue kraken` as Kraken's WebSocket v2 at `/v2`, with its book checksum (see [`kraken`]);
//! `--venue okx` as OKX's v5 public WebSocket at `/ws/v5/public`, with `seqId` chains and the
//! signed book checksum (see [`okx`]); `--venue hyperliquid` at `/ws`, full book snapshots
//! (see [`hyperliquid`]).
//!
//! With `--wait-streams N` the simulated clock stays at `--start` until N market-data streams
//! have attached (counted by [`hub`]), so a recording of a seed does not depend on how fast
//! its recorder connected (scripts/demo.sh relies on it).
//!
//! Market spec (`--market`, repeatable): `NAME[:key=value,...]` with keys `mid`, `tick`, `lot`,
//! `sigma`, `a_bid`, `kappa_bid`, `a_ask`, `kappa_ask`, `levels`, `max_size`; unset keys come
//! from [`MarketParams::preset`]. `--book queues` gives every market resting queues that build
//! and drain, with a one- or two-tick spread, instead of the dense book re-centred every step
//! ([`market::BookKind`]; docs/MODEL.md "The queue book"); its truth line ends in `book=queues`.

pub mod bad;
pub mod binance;
pub mod binance_wire;
pub mod bybit;
pub mod bybit_wire;
pub mod coinbase;
pub mod coinbase_wire;
pub mod dydx;
pub mod dydx_wire;
pub mod fault;
pub mod hub;
pub mod hyperliquid;
pub mod hyperliquid_wire;
pub mod kraken;
pub mod kraken_wire;
pub mod log;
pub mod market;
pub mod okx;
pub mod okx_wire;
pub mod rows;
pub mod server;
mod subscribed;
pub mod wire;

#[cfg(test)]
mod tests;

use std::io::Write as _;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::net::TcpListener;

use self::fault::{Fault, FaultError, FaultKind, FaultPlan, Scenario};
use self::hub::{drive, Hub, Pace};
use self::log::{BadLog, Log};
use self::market::{BookKind, MarketParams, QUEUES_MAX_SIGMA_TICKS, STEP_MS};
use self::server::{serve, ServerConfig};
use crate::model::{parse_duration, DecimalError, EventTime, Price, Qty};
use crate::venue::Venue;

const FAULT_HELP: &str = "\
Inject a fault: KIND[=ARGS][@[STREAM:]CONN], repeatable. CONN is the 1-based number of the \
WebSocket connection in accept order (refused handshakes do not count; default 1); with STREAM \
(book, trades or rpc) it counts only that stream's connections. N counts that connection's data \
frames from 1.
  disconnect=N   drop the socket (no close frame) after frame N
  skip=N         frame N carries seq+1, leaving a hole
  duplicate=N    send frame N twice
  swap=N         send frames N and N+1 in the order N+1, N
  malformed=N    replace frame N with truncated, invalid JSON
  stall=N        after frame N send no more data; pings are still answered
  burst=N:K      hold frames N..N+K-1, then send them back to back
  http429=N      (--venue binance-*) REST snapshot request N of the run, from 1, gets HTTP 429
                 with Retry-After: 1
  checksum=N     (--venue kraken, okx) frame N, if a book message, carries
                 a checksum one off the true one
  bad=K[:KIND+KIND...]
                 before frames K, 2K, 3K, ... one bad frame built from the
                 real frame after it (same seq, update ids, trade ids; no seq
                 is consumed); kinds in turn, in this order (default: all):
                 negative-price, zero-price, negative-size, early-time,
                 future-time, bad-side, fine-decimal, huge-number, id-range,
                 other-market, wrong-type, missing-field, unknown-type,
                 not-json, binary, deep-nesting, oversized (at most once per
                 connection). Without @ on EVERY connection; with
                 @[STREAM:]CONN on that one. At exit stderr gets `bad frames
                 sent: KIND N, ...`; with --log DIR each bad frame is a line
                 of DIR/<market>/bad.jsonl (kind, conn, stream, frame, seq, ts).
Extended connections without a User-Agent header are always refused with HTTP 403. On the \
Binance venue, N counts a connection's frames (diffs and trades together) and skip=N drops the \
first diff at or after frame N, which breaks the update-id chain. On the Kraken venue N counts a connection's book or trade messages (not acks or heartbeats) and skip=N drops frame N, so the next book checksum no longer matches the client's book (or trade ids jump). On the OKX venue N counts the same way and skip=N drops frame N, so the next prevSeqId names a message the client never had; bad=K is not spelled for OKX yet and is refused. On the Hyperliquid venue (at /ws) every book push is a full snapshot: skip=N loses push N, which the next one heals; checksum=N and bad=K are refused. On the Bybit venues (at /v5/public/linear, /spot and /inverse) skip=N drops data message N, so the next delta's u jumps; checksum=N and bad=K are refused. On the dYdX venue (at /v4/ws) skip=N drops message N, so the next message_id jumps; a step's bid and ask changes go out as two messages (one batch when subscribed batched), so an up-move leaves the book crossed in between, as the indexer's may be; checksum=N and bad=K are refused.";

const WAIT_STREAMS_HELP: &str = "\
Hold the simulated clock at --start until N market-data streams have attached: an Extended v1 \
book or trades connection, a v2 subscribe, a Binance combined-stream connection. Then a \
recording starts at --start however long its recorder took to connect, and the same seed \
records the same frames (`collect` on Extended v1 opens 2 streams per market; on Binance 1, \
and its REST snapshot, asked for after the first diff, is still answered at whichever step \
it arrives). 0 (default): the clock starts when serving does.";

const BOOK_HELP: &str = "\
How every market's book is made. dense (default): a one-tick spread re-centred on the latent \
mid every step; an order sweeps every level within its reach whole, and each swept level is \
refilled at once. queues: resting queues that build and drain: the best levels stay while the \
mid moves by half ticks (the spread is two ticks wide a quarter of the time), sizes rise with \
arrivals and fall with cancels at every level without trades, and an order's deepest print \
takes only the front of its level, so a backtest's queue model decides which resting orders \
fill. Both print an exact truth (docs/MODEL.md \"The queue book\"). Queue position matters \
when the mid moves less than a tick between quotes and orders reach a tick or two, as on \
this ETH-USD with a 1 USD tick (sigma 0.5 is half a tick per sqrt(s), kappa 1 a mean reach \
of one tick):
  mdkit simulate --book queues --market ETH-USD:tick=1,kappa_bid=1,kappa_ask=1
(the presets move their mid 10 to 50 ticks a second, so their queues rarely decide a fill). \
sigma/tick above 100 per sqrt(s) is refused with --book queues.";

const MARKET_HELP: &str = "\
A market to simulate, repeatable (default ETH-USD): NAME[:key=value,...]. Keys: mid, tick, lot, \
sigma (price/sqrt(s)), a_bid, a_ask (orders/s), kappa_bid, kappa_ask (1/price), levels (ticks \
per side), max_size. Presets: ETH-USD mid 3000 tick 0.01 lot 0.001 sigma 0.5 A 2 kappa 15; \
BTC-USD mid 84000 tick 1 lot 0.00001 sigma 10 kappa 0.15; SOL-USD mid 140 tick 0.001 sigma \
0.025 kappa 150; any other name: mid 1000 tick 0.01 lot 0.01 sigma 0.2 kappa 15.";

/// Run a local Extended-compatible (or Binance, Kraken, OKX, Hyperliquid, Bybit, dYdX or Coinbase) WebSocket venue fed by a synthetic market.
///
/// Prints `listening on ws://127.0.0.1:<port>` as the first line of stdout, then one line per
/// market with its true parameters (key=value), then serves until --duration of simulated
/// time has passed (exit 0) or Ctrl+C. With --venue binance-*, the same port serves the
/// combined stream (/stream?streams=<sym>@depth@100ms/<sym>@trade) and the REST depth
/// snapshot (/api/v3/depth, /fapi/v1/depth or /dapi/v1/depth ?symbol=SYM&limit=N); name
/// markets like BTCUSDT, e.g. --market BTCUSDT:mid=3000,lot=0.001. With --venue kraken it
/// serves Kraken's WebSocket v2 at ws://127.0.0.1:<port>/v2 (book with its CRC32 checksum,
/// trade); name markets like BTC-USD (subscribed as BTC/USD). With --venue okx it serves
/// OKX's v5 public WebSocket at ws://127.0.0.1:<port>/ws/v5/public (books with seqId chains
/// and the signed CRC32 checksum, trades); name markets like BTC-USDT. With --venue
/// hyperliquid it serves ws://127.0.0.1:<port>/ws (l2Book full snapshots, trades); name
/// markets like BTC.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// TCP port on 127.0.0.1; 0 lets the OS choose (read it from the first stdout line).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    #[arg(long = "market", value_name = "NAME[:KEY=VALUE,...]", long_help = MARKET_HELP)]
    pub markets: Vec<String>,
    /// Simulated seconds per wall-clock second (one 100 ms step every 100 ms / SPEED).
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    /// How the book is made: dense (re-centred every step) or queues (resting queues whose
    /// position decides fills).
    #[arg(long, value_enum, default_value_t = BookKind::Dense, long_help = BOOK_HELP)]
    pub book: BookKind,
    /// Seed of the random market; the same seed gives the same frames.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Simulated time to serve after the start, e.g. 10m; then close every connection and exit 0.
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Simulated clock at the start of serving (RFC 3339); default: now, to the second.
    #[arg(long, value_name = "RFC3339")]
    pub start: Option<String>,
    /// Simulated time run before serving, so the book and the trades replay have history.
    #[arg(long, value_parser = parse_duration, default_value = "60s")]
    pub warmup: Duration,
    #[arg(long, value_name = "N", default_value_t = 0, long_help = WAIT_STREAMS_HELP)]
    pub wait_streams: u64,
    /// Write the truth to DIR/<market>/trades.jsonl and DIR/<market>/book.jsonl (and the bad
    /// frames of --fault bad=K to DIR/<market>/bad.jsonl).
    #[arg(long, value_name = "DIR")]
    pub log: Option<PathBuf>,
    #[arg(long = "fault", value_name = "KIND[=ARGS][@[STREAM:]CONN]", long_help = FAULT_HELP)]
    pub faults: Vec<String>,
    /// JSON file {"faults": [...], "markets": [...]} in the grammar of --fault and --market,
    /// added to the flags.
    #[arg(long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,
    /// Steps a connection may fall behind before it is closed (bounded broadcast).
    #[arg(long, default_value_t = 4096)]
    pub backlog: usize,
    /// How often the server pings each connection, in wall time (the venue: every 15s).
    #[arg(long, value_parser = parse_duration, default_value = "15s")]
    pub ping_interval: Duration,
    /// Protocol to speak. binance-*: the combined stream at /stream?streams=… and the REST
    /// depth snapshot (/api/v3/depth, /fapi/v1/depth, /dapi/v1/depth) on the same port.
    /// kraken: WebSocket v2 at /v2 (subscribe to book and trade). okx: the v5 public
    /// WebSocket at /ws/v5/public (subscribe to books and trades). hyperliquid: /ws
    /// (subscribe to l2Book and trades).
    #[arg(long, value_enum, default_value_t = Venue::Extended)]
    pub venue: Venue,
    /// Binance venue: steps broadcast after a REST snapshot is taken before it is answered,
    /// so diffs newer than the snapshot reach the client first (as on the real venue).
    #[arg(long, default_value_t = 3)]
    pub rest_lag: u64,
}

/// A flag that cannot be used, with what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("bad --market {spec:?}: {reason}")]
    Market { spec: String, reason: String },
    #[error(transparent)]
    Fault(#[from] FaultError),
    #[error("cannot read --scenario {path}: {reason}")]
    Scenario { path: PathBuf, reason: String },
    #[error("bad --start {text:?}: use an RFC 3339 time before 2160, e.g. 2026-01-01T00:00:00Z")]
    Start { text: String },
    #[error("--speed must be a positive finite number, not {0}")]
    Speed(f64),
    #[error(
        "--fault {fault} cannot be used with --venue {venue}: {why}; drop it or use another venue"
    )]
    Unsupported { fault: String, venue: Venue, why: &'static str },
}

/// Validated settings of one simulator run.
#[derive(Debug, Clone)]
pub struct Config {
    pub port: u16,
    pub markets: Vec<MarketParams>,
    pub seed: u64,
    pub speed: f64,
    /// Simulated epoch ms at which serving starts.
    pub start_ms: i64,
    /// Steps simulated before serving.
    pub warmup_steps: u64,
    /// Steps served; `None` until Ctrl+C.
    pub live_steps: Option<u64>,
    /// Streams that must attach before the clock starts.
    pub wait_streams: u64,
    pub log_dir: Option<PathBuf>,
    pub backlog: usize,
    pub server: ServerConfig,
    /// The protocol spoken.
    pub venue: Venue,
    pub rest_lag: u64,
}

fn steps_of(duration: Duration) -> u64 {
    let millis = duration.as_millis();
    u64::try_from(millis.div_ceil(STEP_MS as u128)).unwrap_or(u64::MAX)
}

/// Parses `NAME[:key=value,...]` over the name's preset.
pub fn parse_market(spec: &str) -> Result<MarketParams, ConfigError> {
    let bad = |reason: String| ConfigError::Market { spec: spec.to_owned(), reason };
    let (name, settings) = spec.split_once(':').unwrap_or((spec, ""));
    if name.is_empty() || name.contains(['/', '?', ' ']) {
        return Err(bad("the name must be non-empty without '/', '?' or spaces".into()));
    }
    let mut params = MarketParams::preset(name);
    let decimal = |e: DecimalError| bad(e.to_string());
    for setting in settings.split(',').filter(|s| !s.is_empty()) {
        let (key, value) =
            setting.split_once('=').ok_or_else(|| bad(format!("{setting:?} is not key=value")))?;
        let float = || match value.parse::<f64>() {
            Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
            _ => Err(bad(format!("{key} must be a positive number"))),
        };
        match key {
            "mid" => params.mid = Price::parse(value).map_err(decimal)?,
            "tick" => params.tick = Price::parse(value).map_err(decimal)?,
            "lot" => params.lot = Qty::parse(value).map_err(decimal)?,
            "max_size" => params.max_size = Qty::parse(value).map_err(decimal)?,
            "sigma" => params.sigma = float()?,
            "a_bid" => params.a_bid = float()?,
            "a_ask" => params.a_ask = float()?,
            "kappa_bid" => params.kappa_bid = float()?,
            "kappa_ask" => params.kappa_ask = float()?,
            "levels" => {
                params.levels = value
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| bad("levels must be a positive integer".into()))?
            }
            _ => return Err(bad(format!("unknown key {key:?}"))),
        }
    }
    if params.tick.raw() <= 0
        || params.lot.raw() <= 0
        || params.max_size < params.lot
        || params.mid.raw() <= 0
    {
        return Err(bad("mid, tick and lot must be positive and max_size at least one lot".into()));
    }
    Ok(params)
}

impl Config {
    pub fn from_args(args: &Args) -> Result<Self, ConfigError> {
        let mut market_specs = args.markets.clone();
        let mut fault_specs = args.faults.clone();
        if let Some(path) = &args.scenario {
            let scenario_err =
                |reason: String| ConfigError::Scenario { path: path.clone(), reason };
            let text = std::fs::read_to_string(path).map_err(|e| scenario_err(e.to_string()))?;
            let scenario: Scenario =
                serde_json::from_str(&text).map_err(|e| scenario_err(e.to_string()))?;
            market_specs.extend(scenario.markets);
            fault_specs.extend(scenario.faults);
        }
        if market_specs.is_empty() {
            market_specs.push("ETH-USD".to_owned());
        }
        let mut markets =
            market_specs.iter().map(|s| parse_market(s)).collect::<Result<Vec<_>, _>>()?;
        for (market, spec) in markets.iter_mut().zip(&market_specs) {
            market.book = args.book;
            let sigma_ticks = market.sigma / market.tick.to_f64();
            if args.book == BookKind::Queues && sigma_ticks > QUEUES_MAX_SIGMA_TICKS {
                return Err(ConfigError::Market {
                    spec: spec.clone(),
                    reason: format!(
                        "--book queues draws every half-tick move of the mid: sigma/tick is \
                         {sigma_ticks} per sqrt(s), more than {QUEUES_MAX_SIGMA_TICKS}; lower \
                         sigma or raise tick (queues matter when the mid moves less than a tick \
                         between quotes)"
                    ),
                });
            }
        }
        if let Some(dup) = markets
            .iter()
            .enumerate()
            .find(|(i, m)| markets[..*i].iter().any(|o| o.market == m.market))
        {
            return Err(ConfigError::Market {
                spec: dup.1.market.clone(),
                reason: "given twice".into(),
            });
        }
        let faults =
            fault_specs.iter().map(|s| s.parse::<Fault>()).collect::<Result<Vec<_>, _>>()?;
        for fault in &faults {
            let why = match (args.venue, &fault.kind) {
                (Venue::Okx | Venue::Hyperliquid, FaultKind::Bad(_)) => {
                    "bad frames are not spelled in this venue's shapes yet"
                }
                (venue, FaultKind::Bad(_))
                    if venue.bybit().is_some()
                        || matches!(venue, Venue::Dydx | Venue::Coinbase) =>
                {
                    "bad frames are not spelled in this venue's shapes yet"
                }
                (Venue::Kraken | Venue::Okx, FaultKind::Checksum(_)) | (_, FaultKind::Bad(_)) => {
                    continue
                }
                (_, FaultKind::Checksum(_)) => "this venue's book messages carry no checksum",
                _ => continue,
            };
            return Err(ConfigError::Unsupported {
                fault: fault.to_string(),
                venue: args.venue,
                why,
            });
        }
        if !(args.speed.is_finite() && args.speed > 0.0) {
            return Err(ConfigError::Speed(args.speed));
        }
        let start_ms = match &args.start {
            Some(text) => chrono::DateTime::parse_from_rfc3339(text)
                .map_err(|_| ConfigError::Start { text: text.clone() })?
                .timestamp_millis(),
            None => chrono::Utc::now().timestamp() * 1000,
        };
        // Nanosecond timestamps end in 2262: keep a century of simulated time in range.
        const CENTURY_MS: i64 = 100 * 365 * 86_400_000;
        if start_ms.checked_add(CENTURY_MS).and_then(EventTime::from_millis).is_none() {
            return Err(ConfigError::Start { text: args.start.clone().unwrap_or_default() });
        }
        Ok(Self {
            port: args.port,
            markets,
            seed: args.seed,
            speed: args.speed,
            start_ms,
            warmup_steps: steps_of(args.warmup),
            live_steps: args.duration.map(steps_of),
            wait_streams: args.wait_streams,
            log_dir: args.log.clone(),
            backlog: args.backlog,
            server: ServerConfig {
                faults: FaultPlan { faults },
                ping_every: args.ping_interval,
                ..ServerConfig::default()
            },
            venue: args.venue,
            rest_lag: args.rest_lag,
        })
    }
}

/// Runs `mdkit simulate` on its own tokio runtime until the duration ends or Ctrl+C.
pub fn run(args: Args) -> anyhow::Result<()> {
    let config = Config::from_args(&args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?;
    runtime.block_on(run_config(config))
}

async fn run_config(config: Config) -> anyhow::Result<()> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, config.port))
        .await
        .with_context(|| format!("cannot listen on 127.0.0.1:{}", config.port))?;
    let port = listener.local_addr().context("cannot read the listening address")?.port();
    let t0_ms = config.start_ms
        - STEP_MS * i64::try_from(config.warmup_steps).unwrap_or(i64::MAX / STEP_MS / 2);
    let hub = Hub::new(config.markets.clone(), config.seed, t0_ms, config.backlog);
    let bad_log = Arc::new(match &config.log_dir {
        Some(dir) => BadLog::create(dir, hub.markets())?,
        None => BadLog::counting(),
    });
    let mut log = match &config.log_dir {
        Some(dir) => Some(Log::create(dir, hub.markets())?),
        None => None,
    };
    if let Some(log) = log.as_mut() {
        log.flush_with(Arc::clone(&bad_log));
    }
    for _ in 0..config.warmup_steps {
        hub.step(log.as_mut())?;
    }
    {
        // A closed stdout (e.g. `| head -1`) must not stop the venue: write errors are ignored.
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening on ws://127.0.0.1:{port}");
        for m in &config.markets {
            // The book kind is named only when it is not the default, so the dense line is as
            // it always was.
            let book = match m.book {
                BookKind::Dense => String::new(),
                kind => format!(" book={}", kind.name()),
            };
            let _ = writeln!(
                out,
                "market={} tick={} lot={} sigma={} a_bid={} kappa_bid={} a_ask={} kappa_ask={} seed={}{book}",
                m.market, m.tick, m.lot, m.sigma, m.a_bid, m.kappa_bid, m.a_ask, m.kappa_ask, config.seed
            );
        }
        let _ = out.flush();
    }
    let (ended_tx, ended_rx) = tokio::sync::oneshot::channel::<()>();
    let pace =
        Pace { speed: config.speed, steps: config.live_steps, wait_streams: config.wait_streams };
    let driver = async {
        let result = drive(&hub, pace, log.as_mut(), crate::process::interrupted()).await;
        let _ = ended_tx.send(());
        result
    };
    let ended = async {
        let _ = ended_rx.await;
    };
    let server_config = ServerConfig { bad_log: Arc::clone(&bad_log), ..config.server.clone() };
    let server = async {
        match config.venue.binance() {
            None if config.venue == Venue::Kraken => {
                subscribed::serve::<kraken::Kraken>(listener, hub.clone(), server_config, ended)
                    .await
            }
            None if config.venue == Venue::Okx => {
                subscribed::serve::<okx::Okx>(listener, hub.clone(), server_config, ended).await
            }
            None if config.venue == Venue::Coinbase => {
                subscribed::serve::<coinbase::Coinbase>(listener, hub.clone(), server_config, ended)
                    .await
            }
            None if config.venue == Venue::Dydx => {
                subscribed::serve::<dydx::Dydx>(listener, hub.clone(), server_config, ended).await
            }
            None if config.venue.bybit().is_some() => {
                subscribed::serve::<bybit::Bybit>(listener, hub.clone(), server_config, ended).await
            }
            None if config.venue == Venue::Hyperliquid => {
                subscribed::serve::<hyperliquid::Hyperliquid>(
                    listener,
                    hub.clone(),
                    server_config,
                    ended,
                )
                .await
            }
            None => serve(listener, hub.clone(), server_config, ended).await,
            Some(kind) => {
                binance::serve(listener, hub.clone(), kind, server_config, config.rest_lag, ended)
                    .await
            }
        }
    };
    let (driven, ()) = tokio::join!(driver, server);
    // Connections may send bad frames while they drain, after the driver's last flush.
    let flushed = bad_log.flush();
    if config.server.faults.sends_bad_frames() {
        eprintln!("{}", bad_log.summary());
    }
    driven.context("the simulator log failed")?;
    flushed.context("the simulator log failed")?;
    Ok(())
}
