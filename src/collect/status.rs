//! What the recorder shows while it runs: on a terminal, one status line per market
//! (frames/s, rows and parts committed, reconnects, gaps, last book seq, receive lag),
//! refreshed every second; otherwise an `info` log line per market every minute (RUST_LOG).
//! Must not change what is recorded.

use std::io::IsTerminal as _;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::record::Market;

pub struct Status {
    bars: Option<(MultiProgress, Vec<ProgressBar>)>,
    every: Duration,
    last: Instant,
    last_frames: Vec<u64>,
}

impl Status {
    pub fn new(markets: &[String]) -> Self {
        let bars = std::io::stderr().is_terminal().then(|| {
            let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template("{spinner} {prefix:>10} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner());
            let bars = markets
                .iter()
                .map(|m| {
                    let bar = multi.add(ProgressBar::new_spinner());
                    bar.set_style(style.clone());
                    bar.set_prefix(m.clone());
                    bar.set_message("connecting…");
                    bar
                })
                .collect();
            (multi, bars)
        });
        let every = if bars.is_some() { Duration::from_secs(1) } else { Duration::from_secs(60) };
        Self { bars, every, last: Instant::now(), last_frames: vec![0; markets.len()] }
    }

    pub fn update(&mut self, markets: &[Market]) {
        let elapsed = self.last.elapsed();
        if elapsed < self.every {
            return;
        }
        self.last = Instant::now();
        for (i, market) in markets.iter().enumerate() {
            let c = market.counters();
            let (rows, parts) = market.committed();
            let rate = (c.frames - self.last_frames[i]) as f64 / elapsed.as_secs_f64();
            self.last_frames[i] = c.frames;
            let reconnects = c.connects.saturating_sub(market.open_conns().len() as u64);
            let line = format!(
                "{rate:>8.1} frames/s  {rows} rows / {parts} parts committed  {reconnects} reconnects  {} gaps  seq {}  lag {:.1} ms",
                c.gaps,
                c.last_book_seq,
                c.lag_ns as f64 / 1e6
            );
            match &self.bars {
                Some((_, bars)) => {
                    bars[i].set_message(line);
                    bars[i].tick();
                }
                None => tracing::info!(market = %market.market(), "{line}"),
            }
        }
    }

    pub fn finish(&mut self, parts: u64) {
        if let Some((_, bars)) = &self.bars {
            for bar in bars {
                bar.finish();
            }
        }
        tracing::info!(parts, "stopped: every part published");
    }
}
