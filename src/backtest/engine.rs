//! The backtest engine: replays [`Event`]s through a simulated exchange and a [`Strategy`] on
//! two clocks, streaming fills and per-second equity to a [`Sink`].
//!
//! Under construction: the signatures are the contract with the replay and the CLI.

use crate::backtest::event::{Event, MarketSpec, Recalibration};
use crate::backtest::report::{Sink, SinkError, Summary};
use crate::backtest::settings::{Settings, SettingsError};

/// Why a backtest stopped.
#[derive(Debug, thiserror::Error)]
pub enum EngineError<E> {
    /// The event source failed.
    #[error("reading events: {0}")]
    Replay(E),
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error("writing output: {0}")]
    Sink(SinkError),
    /// The recalibrations are not sorted by `at`.
    #[error("recalibrations must be sorted by their time: {0}")]
    Recalibrations(String),
}

/// Runs one backtest over `events` (sorted by [`Event::order_key`]) with the strategy chosen
/// in `settings`, streaming to `sink`; returns the summary. Memory does not grow with the
/// number of events.
pub fn run<E>(
    events: impl Iterator<Item = Result<Event, E>>,
    spec: MarketSpec,
    settings: &Settings,
    recalibrations: &[Recalibration],
    sink: &mut dyn Sink,
) -> Result<Summary, EngineError<E>> {
    let _config = settings.resolve(spec)?;
    let _ = (recalibrations, &sink);
    let mut summary = Summary::default();
    for event in events {
        event.map_err(EngineError::Replay)?;
        summary.events += 1;
    }
    Ok(summary)
}
