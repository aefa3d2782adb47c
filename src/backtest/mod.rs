//! `mdkit backtest`: event replay of a market maker over recorded tables (MODEL.md).
//!
//! Under construction (issue 7). The contract between the halves is [`event`]: the replay
//! turns Parquet parts into [`event::Event`]s in strategy-clock order, and the engine consumes
//! them.

pub mod avellaneda;
pub mod book;
pub mod engine;
pub mod event;
pub mod exchange;
pub mod imbalance;
pub mod metrics;
pub mod queue;
pub mod report;
pub mod settings;
pub mod strategy;
