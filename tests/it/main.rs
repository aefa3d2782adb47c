//! mdkit's integration tests: one binary, one module per area. Tests run the real `mdkit`
//! binary in temporary directories and read real Parquet files back.

mod backtest;
mod backtest_output;
mod bad_venue;
mod binance_live;
mod calibrate;
mod cli;
mod collect;
mod common;
mod compact;
mod contract;
mod extended;
mod extended_v2;
mod fuzz;
mod hyperliquid;
mod hyperliquid_live;
mod import;
mod interop;
mod kraken;
mod kraken_live;
mod layering;
mod live;
mod messy;
mod metrics;
mod okx;
mod okx_live;
mod prev_release;
mod real_markets;
mod refused;
mod schemas;
mod simulate;
mod spread;
mod sql;
mod storage;
mod storage_faults;
mod verify;
