//! mdkit: record a venue's L2 order book and trades into Parquet, prove the recording is a
//! consistent book, estimate Avellaneda–Stoikov parameters with SQL, and replay it through a
//! market-making backtest — jobs over one set of tables (docs/ARCHITECTURE.md).
//!
//! Layering — dependencies point one way, and a module imports only from modules to its
//! left: `model ← book ← storage ← venue ← record ← commands`. Shared code moves down, never
//! up: no module imports [`cli`], and no command imports another command.
//!
//! - [`model`]: exact prices and quantities, timestamps that name their clock, sides and kinds,
//!   typed book frames and trades, quote math. Pure.
//! - [`book`]: the L2 order book and its integrity rules.
//! - [`storage`]: table schemas, hive partition paths, the journal, the Parquet writer and
//!   reader, and the DataFusion session over the tree. The tables are the contract between
//!   commands.
//! - [`venue`]: [`venue::Venue`], the one list of venues, and one folder per venue: wire text
//!   in and typed frames out, its sequence rule, its recorder rules and its link plan. Pure.
//! - [`record`]: journal → a venue's recorder rules → Parquet parts at checkpoints, for one
//!   market; the one code path `collect` (live) and `import` (old journals) share. Names no
//!   venue.
//! - [`estimate`]: σ, A and κ of one window by the SQL in `sql/`, shared by `calibrate` and
//!   `backtest`'s recalibration, and of many windows in one pass in Rust, held equal to it.
//! - [`process`]: what every command's process shares (runtime, signals, the data root).
//! - Commands, one module each behind `run(args)`: [`collect`] (carries out the venue's link
//!   plan: connections, supervisor, writer thread), [`import`], [`simulate`] (a local venue
//!   with a known market and faults), [`verify`], [`calibrate`], [`spread`], [`backtest`],
//!   [`sql`], [`compact`] (rewrites closed days into few parts), `cluster` (`mdkit ballista`, cargo
//!   feature `ballista`: a scheduler and executors for `sql --engine`); [`cli`] holds the flags
//!   and dispatch.
//!
//! Data flow: venue WebSocket → `collect` → journal → Parquet parts → {`verify`, `calibrate`,
//! `backtest`, `sql`}, each reading the same files.

pub mod backtest;
pub mod book;
pub mod calibrate;
pub mod cli;
#[cfg(feature = "ballista")]
pub mod cluster;
pub mod collect;
pub mod compact;
pub mod estimate;
pub mod import;
pub mod model;
pub mod process;
pub mod record;
pub mod simulate;
pub mod spread;
pub mod sql;
pub mod storage;
pub mod venue;
pub mod verify;
