//! mdkit: record a venue's L2 order book and trades into Parquet, prove the recording is a
//! consistent book, estimate Avellaneda–Stoikov parameters with SQL, and replay it through a
//! market-making backtest — four jobs over one set of tables.
//!
//! Map of the crate (dependencies point one way: `model ← book ← storage ← commands`):
//!
//! - [`model`]: exact prices and quantities, timestamps that name their clock, sides and kinds,
//!   typed book frames and trades. Pure.
//! - [`book`]: the L2 order book and its integrity rules.
//! - [`storage`]: table schemas, hive partition paths, the Parquet writer and reader, and the
//!   DataFusion session over the tree. The tables are the contract between commands.
//! - [`venue`]: one module per venue: wire text in, typed frames and errors out, and the
//!   venue's sequence rule. Pure.
//! - [`record`]: journal → recorder rules → Parquet parts at checkpoints, for one market; the
//!   one code path `collect` (live) and `import` (old journals) share.
//! - [`simulate`]: a local WebSocket venue speaking the Extended protocol, driven by a
//!   synthetic market with known σ, A and κ, with fault injection.
//! - [`collect`]: the recorder: connections, supervisor, writer thread.
//! - [`import`]: raw captures (mdkit journals, hftbacktest Binance files) → the same tables,
//!   through `record`.
//! - [`verify`]: proves a recording is a consistent book: sequence, duplicates, replay of
//!   `depth` against `book_top`, clocks, trades against the book, files and state.
//! - [`calibrate`]: σ, A and κ per window by the SQL in `sql/`; [`calibrate::window`] is the
//!   library entry the backtester reuses. [`spread`]: today's quotes from the latest
//!   calibration (quote math in [`model::quote`]).
//! - [`cli`]: flags and dispatch; one module per subcommand.
//!
//! Data flow: venue WebSocket → `collect` → journal → Parquet parts → {`verify`, `calibrate`,
//! `backtest`, `sql`}, each reading the same files.

pub mod backtest;
pub mod book;
pub mod calibrate;
pub mod cli;
pub mod collect;
pub mod import;
pub mod model;
pub mod record;
pub mod simulate;
pub mod spread;
pub mod sql;
pub mod storage;
pub mod venue;
pub mod verify;
