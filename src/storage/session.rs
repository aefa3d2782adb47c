//! A DataFusion session over the data tree: every table registered under its name, with
//! `venue`, `market` and `date` as partition columns read from the hive directories.
//!
//! The parts also store `venue` and `market` as columns (so a single file read by any tool is
//! self-describing); DataFusion takes them from the path instead, which lets it skip whole
//! directories when a query filters on them. The tables are registered over the parts the
//! storage listing accepted and nothing else: a stray or broken file is named once and
//! hidden from DataFusion, so it is neither counted nor able to stop a query. A table with
//! no parts is an empty table.
//!
//! A session runs its queries in this process, or on an Apache Ballista cluster
//! ([`Engine::Ballista`], cargo feature `ballista`): the tables are registered the same way,
//! and the scheduler lists the table folders itself, so a session refuses a tree whose table
//! folders hold a `.parquet` file the listing could not read (the cluster would try to).
//!
//! A session may be given a memory limit ([`Session::open_limited`]): DataFusion's operators
//! then share a fair spill pool of that size, and a sort, aggregate or join that outgrows its
//! share spills to temporary files in the OS temp directory instead of growing the process.

use std::collections::HashSet;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use async_trait::async_trait;
use bytes::Bytes;
use datafusion::catalog::TableProvider;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::datasource::{provider_as_source, MemTable, ViewTable};
use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::memory_pool::{FairSpillPool, TrackConsumersPool};
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::functions::string::expr_fn::lower;
use datafusion::logical_expr::{LogicalPlan, LogicalPlanBuilder};
use datafusion::prelude::ident;
use datafusion::prelude::{SessionConfig, SessionContext};
use futures_util::stream::{BoxStream, StreamExt};
use object_store::local::LocalFileSystem;
use object_store::path::Path as StorePath;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult,
};

use super::part::BadPart;
use super::reader::{list, Selection};
use super::schema::Table;
use super::StorageError;

/// The columns DataFusion reads from the directory names, after the file's own columns.
pub fn partition_columns() -> Vec<(String, DataType)> {
    vec![
        ("venue".to_string(), DataType::Utf8),
        ("market".to_string(), DataType::Utf8),
        ("date".to_string(), DataType::Date32),
    ]
}

/// The schema a table has in SQL: the file columns except `venue` and `market`, then the
/// partition columns `venue`, `market`, `date`.
pub fn sql_schema(table: Table) -> SchemaRef {
    let file = file_schema(table);
    let mut fields: Vec<Field> = file.fields().iter().map(|f| f.as_ref().clone()).collect();
    for (name, data_type) in partition_columns() {
        fields.push(Field::new(name, data_type, false));
    }
    Arc::new(Schema::new(fields))
}

/// The columns DataFusion reads from the files themselves.
fn file_schema(table: Table) -> SchemaRef {
    let schema = table.schema();
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .filter(|f| f.name() != "venue" && f.name() != "market")
        .map(|f| f.as_ref().clone())
        .collect();
    Arc::new(Schema::new(fields))
}

/// Where a session's queries run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Engine {
    /// DataFusion in this process.
    #[default]
    Local,
    /// The Ballista scheduler at `host:port`, with its executors.
    Ballista { scheduler: String },
}

impl std::str::FromStr for Engine {
    type Err = String;

    /// `local`, or `ballista://HOST:PORT` (port 50050 when left out).
    fn from_str(text: &str) -> Result<Engine, String> {
        if text == "local" {
            return Ok(Engine::Local);
        }
        let Some(rest) = text.strip_prefix("ballista://") else {
            return Err(format!("{text}: not an engine (use local or ballista://HOST:PORT)"));
        };
        let rest = rest.trim_end_matches('/');
        if rest.is_empty() || rest.contains('/') {
            return Err(format!("{text}: use ballista://HOST:PORT"));
        }
        let scheduler = if rest.contains(':') { rest.to_owned() } else { format!("{rest}:50050") };
        Ok(Engine::Ballista { scheduler })
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Engine::Local => write!(f, "local"),
            Engine::Ballista { scheduler } => write!(f, "ballista://{scheduler}"),
        }
    }
}

/// The context of `engine` over `config`.
fn context(engine: &Engine, config: SessionConfig) -> Result<SessionContext, StorageError> {
    match engine {
        Engine::Local => Ok(SessionContext::new_with_config(config)),
        #[cfg(feature = "ballista")]
        Engine::Ballista { scheduler } => super::ballista::client(scheduler, config),
        #[cfg(not(feature = "ballista"))]
        Engine::Ballista { .. } => Err(StorageError::Config(format!(
            "--engine {engine}: this mdkit was built without Ballista; build it with `cargo install --path . --features ballista`"
        ))),
    }
}

/// A DataFusion context over a data root, and the files it had to leave out.
pub struct Session {
    pub ctx: SessionContext,
    pub root: PathBuf,
    /// Where its queries run.
    pub engine: Engine,
    /// Files skipped because they are not readable parts, each with its reason (each was
    /// named on stderr once when the tree was listed).
    pub skipped: Vec<BadPart>,
}

impl Session {
    /// Lists every table under `root` with [`super::list`] (the one listing every reader
    /// uses) and registers the five tables over exactly the parts it accepted.
    pub async fn open(root: &Path) -> Result<Session, StorageError> {
        Self::open_limited(root, None).await
    }

    /// [`Session::open`] with DataFusion's operators held to `memory_limit` bytes in all (no
    /// limit with `None`): the memory pool is a [`FairSpillPool`], so each operator that can
    /// spill (sorts, hash aggregates, sort-merge joins) gets a fair share and writes what
    /// exceeds it to the OS temp directory; one that cannot spill fails with a message naming
    /// the largest consumers rather than growing past the limit.
    pub async fn open_limited(
        root: &Path,
        memory_limit: Option<u64>,
    ) -> Result<Session, StorageError> {
        Self::open_on(root, &Engine::Local, memory_limit).await
    }

    /// [`Session::open_limited`] with its queries run by `engine` (the memory limit holds
    /// for a local engine only: a cluster's executors have their own).
    pub async fn open_on(
        root: &Path,
        engine: &Engine,
        memory_limit: Option<u64>,
    ) -> Result<Session, StorageError> {
        let remote = super::remote::is_remote(root);
        let root = if remote {
            root.to_path_buf()
        } else {
            std::path::absolute(root).map_err(|e| StorageError::io(root, e))?
        };
        // Object keys of the tree's files: absolute paths, or keys in the bucket.
        let key = |path: &Path| {
            if remote {
                super::remote::key_of(path)
            } else {
                StorePath::from_absolute_path(path)
                    .map_err(|e| StorageError::Config(format!("{}: {e}", path.display())))
            }
        };
        let config = SessionConfig::new().with_information_schema(true);
        let ctx = match memory_limit {
            Some(bytes) if *engine == Engine::Local => {
                let pool = FairSpillPool::new(usize::try_from(bytes).unwrap_or(usize::MAX));
                let top = std::num::NonZeroUsize::new(5).expect("5 is not zero");
                let runtime = RuntimeEnvBuilder::new()
                    .with_memory_pool(Arc::new(TrackConsumersPool::new(pool, top)))
                    .with_disk_manager_builder(
                        DiskManagerBuilder::default().with_mode(DiskManagerMode::OsTmpDirectory),
                    )
                    .with_metadata_cache_limit(metadata_cache_limit(bytes))
                    .build_arc()
                    .map_err(StorageError::datafusion)?;
                SessionContext::new_with_config_rt(config, runtime)
            }
            _ => context(engine, config)?,
        };
        let mut skipped = Vec::new();
        let mut allowed = HashSet::new();
        let mut tables = Vec::new();
        for table in Table::ALL {
            let listing = list(&root, table, &Selection::default())?;
            if *engine != Engine::Local {
                if let Some(bad) = listing.bad.iter().find(|b| is_parquet_name(&b.path)) {
                    return Err(StorageError::Refused(format!(
                        "{}: {} — the {engine} scheduler lists the table folders itself and would read it; move it out of the tree, or run without --engine",
                        bad.path.display(),
                        bad.reason
                    )));
                }
            }
            skipped.extend(listing.bad);
            for part in &listing.parts {
                allowed.insert(key(&part.path)?);
            }
            let table_dir = root.join(table.name());
            tables.push(key(&table_dir)?);
            let provider = if listing.parts.is_empty() {
                Arc::new(
                    MemTable::try_new(sql_schema(table), vec![vec![]])
                        .map_err(StorageError::datafusion)?,
                ) as Arc<dyn TableProvider>
            } else {
                let url = format!("{}/", table_dir.display());
                let url = ListingTableUrl::parse(&url).map_err(StorageError::datafusion)?;
                let options = ListingOptions::new(Arc::new(ParquetFormat::default()))
                    .with_file_extension(".parquet")
                    .with_table_partition_cols(partition_columns());
                let config = ListingTableConfig::new(url)
                    .with_listing_options(options)
                    .with_schema(file_schema(table));
                // The session's statistics cache, as `register_listing_table` would give it:
                // without it every query reads and parses the footer of every part again
                // (30 ms a query on 169 parts; a 7-day calibration runs about 50 queries).
                let statistics = ctx.runtime_env().cache_manager.get_file_statistic_cache();
                let files: Arc<dyn TableProvider> = Arc::new(
                    ListingTable::try_new(config)
                        .map_err(StorageError::datafusion)?
                        .with_cache(statistics),
                );
                if listing.parts.iter().any(|p| p.foreign.is_some()) {
                    normalizing_view(table, files).map_err(StorageError::datafusion)?
                } else {
                    files
                }
            };
            ctx.register_table(table.name(), provider).map_err(StorageError::datafusion)?;
        }
        let (url, inner) = if remote {
            let (url, store) = super::remote::store_for(&root)?;
            (ObjectStoreUrl::parse(url).map_err(StorageError::datafusion)?, store)
        } else {
            (ObjectStoreUrl::local_filesystem(), Arc::new(LocalFileSystem::new()) as _)
        };
        let store = VettedStore { inner, allowed, tables };
        ctx.register_object_store(url.as_ref(), Arc::new(store));
        Ok(Session { ctx, root, engine: engine.clone(), skipped })
    }

    /// Refuses, in one line, a plan this session's engine would not run as local DataFusion
    /// does: on Ballista 55, a `SELECT` without `FROM` beside a `UNION` (the scheduler never
    /// finishes the job). Every plan is fine locally.
    pub fn vet(&self, plan: &LogicalPlan) -> Result<(), StorageError> {
        if self.engine == Engine::Local {
            return Ok(());
        }
        let (mut union, mut one_row) = (false, false);
        let walked = plan.apply_with_subqueries(|node| {
            match node {
                LogicalPlan::Union(_) => union = true,
                LogicalPlan::EmptyRelation(e) if e.produce_one_row => one_row = true,
                _ => {}
            }
            Ok(TreeNodeRecursion::Continue)
        });
        walked.map_err(StorageError::datafusion)?;
        let engine = &self.engine;
        if union && one_row {
            return Err(StorageError::Refused(format!(
                "a SELECT without FROM inside a UNION: Ballista 55's scheduler never finishes such a job on {engine}; select from a table or (VALUES …), or run without --engine"
            )));
        }
        Ok(())
    }
}

/// The bytes of Parquet footers a session held to `memory_limit` keeps cached: 1 % of the
/// limit, at most DataFusion's default of 50 MiB. The cache counts less than the footers
/// really hold: a 30-day calibration (2,673 parts) peaked at 1,056 MiB with 50 MiB, 914 MiB
/// with 10 MB and 891 MiB with none, while a 7-day one took the same time within noise.
fn metadata_cache_limit(memory_limit: u64) -> usize {
    usize::try_from(memory_limit / 100).unwrap_or(usize::MAX).min(50 << 20)
}

/// Whether DataFusion's listing (files ending `.parquet`) would take the file at `path`.
fn is_parquet_name(path: &Path) -> bool {
    path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.ends_with(".parquet"))
}

/// Another tool's parts are cast to the table's types by DataFusion's schema adapter; what
/// a cast cannot do (`BUY` → `buy`) a view over them does.
fn normalizing_view(
    table: Table,
    files: Arc<dyn TableProvider>,
) -> datafusion::error::Result<Arc<dyn TableProvider>> {
    let schema = files.schema();
    let columns = schema.fields().iter().map(|f| {
        if f.name() == "side" {
            lower(ident("side")).alias("side")
        } else {
            ident(f.name())
        }
    });
    let plan = LogicalPlanBuilder::scan(table.name(), provider_as_source(files), None)?
        .project(columns)?
        .build()?;
    Ok(Arc::new(ViewTable::new(plan, None)))
}

/// The tree's store (the local file system or a bucket), listing under the table folders
/// only the parts the listing accepted: strays, broken and foreign-schema files stay invisible to DataFusion.
#[derive(Debug)]
struct VettedStore {
    inner: Arc<dyn ObjectStore>,
    allowed: HashSet<StorePath>,
    tables: Vec<StorePath>,
}

impl VettedStore {
    fn visible(&self, location: &StorePath) -> bool {
        self.allowed.contains(location) || !self.tables.iter().any(|t| location.prefix_matches(t))
    }
}

impl fmt::Display for VettedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VettedStore({}, {} parts)", self.inner, self.allowed.len())
    }
}

#[async_trait]
impl ObjectStore for VettedStore {
    async fn put_opts(
        &self,
        location: &StorePath,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &StorePath,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(
        &self,
        location: &StorePath,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        self.inner.get_opts(location, options).await
    }

    async fn get_ranges(
        &self,
        location: &StorePath,
        ranges: &[Range<u64>],
    ) -> object_store::Result<Vec<Bytes>> {
        self.inner.get_ranges(location, ranges).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<StorePath>>,
    ) -> BoxStream<'static, object_store::Result<StorePath>> {
        self.inner.delete_stream(locations)
    }

    fn list(
        &self,
        prefix: Option<&StorePath>,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        let allowed = self.allowed.clone();
        let tables = self.tables.clone();
        self.inner
            .list(prefix)
            .filter(move |item| {
                let keep = match item {
                    Ok(meta) => {
                        allowed.contains(&meta.location)
                            || !tables.iter().any(|t| meta.location.prefix_matches(t))
                    }
                    Err(_) => true,
                };
                std::future::ready(keep)
            })
            .boxed()
    }

    async fn list_with_delimiter(
        &self,
        prefix: Option<&StorePath>,
    ) -> object_store::Result<ListResult> {
        let mut result = self.inner.list_with_delimiter(prefix).await?;
        result.objects.retain(|meta| self.visible(&meta.location));
        Ok(result)
    }

    async fn copy_opts(
        &self,
        from: &StorePath,
        to: &StorePath,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}
