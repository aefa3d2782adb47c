//! The tables on disk: schemas, partition paths, the Parquet part writer and reader, and the
//! DataFusion session over the tree.
//!
//! Layout: `<root>/<table>/venue=<v>/market=<m>/date=<YYYY-MM-DD>/part-<HHMMSS>-<conn>-<n>.parquet`
//! (docs/ARCHITECTURE.md "Layout on disk"). Parts are ZSTD(3), sorted by (time, seq), and become
//! visible only by an atomic rename once closed. This module knows nothing of venues or
//! connections: it stores and returns rows.

use std::path::{Path, PathBuf};

#[cfg(feature = "ballista")]
pub mod ballista;
mod compact;
mod contract;
mod foreign;
#[cfg(feature = "ballista")]
mod ignore_nulls;
mod journal;
mod lock;
pub mod manifest;
mod part;
mod path;
mod reader;
pub mod remote;
mod rows;
mod schema;
mod session;
mod upload;
mod writer;

pub use compact::{
    clear_market_staging, clear_staging, compact_partition, staging_dir, CompactConfig, Compacted,
    Skipped, STAGING,
};
pub use contract::{ContractFileError, StoredContract, CONTRACT_VERSION};
pub use journal::{
    prune, Cause, Entry, Journal, JournalError, Pruned, Record, Retention, RetentionError, Stream,
};
pub use lock::{LockError, MarketLock};
pub use part::{footer_reads, inspect, BadKind, BadPart, PartInfo, RowGroupSpan};
pub use path::is_temp_name;
pub use path::{
    check_name, find_parts, sweep_temp_files, temp_name, BadName, Found, PartFilter, PartPath,
    Partition,
};
pub use reader::{list, stored_batch, Listing, Scan, Selection, TimeRange, BATCH_ROWS};
pub use rows::{
    decoded, BookTopRow, CalibrationRow, DepthRow, EventRow, FitSettings, Rows, SideFit, TopLevels,
    TradeRow,
};
pub use schema::{
    cast_batch, decimal_type, schema_difference, timestamp_type, type_label, Table,
    BOOK_TOP_LEVELS, DECIMAL_PRECISION, META_MDKIT_VERSION, META_SCHEMA_VERSION, META_TABLE,
    SCHEMA_VERSION,
};
pub use session::{partition_columns, sql_schema, Engine, Session};
pub use upload::{Uploader, CRASH_AFTER_UPLOAD, LEDGER};
pub use writer::{publish, Staged, Writer, WriterConfig};

/// What can go wrong in the storage layer; every variant names the file or table at fault.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{}: {source}", path.display())]
    Parquet { path: PathBuf, source: parquet::errors::ParquetError },
    #[error("{}: {source}", path.display())]
    Read { path: PathBuf, source: arrow::error::ArrowError },
    #[error("{0}")]
    Arrow(#[from] arrow::error::ArrowError),
    #[error("rows for table {table} do not match its schema: {detail}")]
    Schema { table: Table, detail: String },
    #[error("a {table} writer for {column} {expected:?} was given a row of {column} {found:?}")]
    WrongPartition { table: Table, column: &'static str, expected: String, found: String },
    #[error(transparent)]
    BadName(#[from] BadName),
    #[error("invalid storage setting: {0}")]
    Config(String),
    /// A request refused, and why, naming the file or the feature and the fix (a partition
    /// compaction would not rewrite; a plan or tree a Ballista cluster would not run as
    /// DataFusion does).
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Bad(BadPart),
    #[error("query engine: {0}")]
    DataFusion(#[from] Box<datafusion::error::DataFusionError>),
}

impl StorageError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io { path: path.to_path_buf(), source }
    }

    pub(crate) fn parquet(path: &Path, source: parquet::errors::ParquetError) -> Self {
        Self::Parquet { path: path.to_path_buf(), source }
    }

    pub(crate) fn read(path: &Path, source: arrow::error::ArrowError) -> Self {
        Self::Read { path: path.to_path_buf(), source }
    }

    pub(crate) fn arrow(source: arrow::error::ArrowError) -> Self {
        Self::Arrow(source)
    }

    pub(crate) fn datafusion(source: datafusion::error::DataFusionError) -> Self {
        Self::DataFusion(Box::new(source))
    }
}
