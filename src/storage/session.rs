//! A DataFusion session over the data tree: every table registered under its name, with
//! `venue`, `market` and `date` as partition columns read from the hive directories.
//!
//! The parts also store `venue` and `market` as columns (so a single file read by any tool is
//! self-describing); DataFusion takes them from the path instead, which lets it skip whole
//! directories when a query filters on them. Before registering, every part's footer is
//! checked; a file that fails is reported and hidden from DataFusion, so one corrupt file
//! never makes the rest of the tree unreadable. A table with no parts is an empty table.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use async_trait::async_trait;
use bytes::Bytes;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::datasource::MemTable;
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::prelude::{SessionConfig, SessionContext};
use futures_util::stream::{BoxStream, StreamExt};
use object_store::local::LocalFileSystem;
use object_store::path::Path as StorePath;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult,
};

use super::part::{inspect, BadPart};
use super::path::{find_parts, PartFilter};
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

/// A DataFusion context over a data root, and the files it had to leave out.
pub struct Session {
    pub ctx: SessionContext,
    pub root: PathBuf,
    /// Files skipped because they are not readable parts, each with its reason.
    pub skipped: Vec<BadPart>,
}

impl Session {
    /// [`Session::open`] for a command: each skipped file is named on stderr, one line each,
    /// and the query goes on over the rest.
    pub async fn open_warning(root: &Path) -> Result<Session, StorageError> {
        let session = Self::open(root).await?;
        for bad in &session.skipped {
            eprintln!("warning: skipped {bad}");
        }
        Ok(session)
    }

    /// Checks every part under `root` and registers the five tables.
    pub async fn open(root: &Path) -> Result<Session, StorageError> {
        let root = std::path::absolute(root).map_err(|e| StorageError::io(root, e))?;
        let config = SessionConfig::new().with_information_schema(true);
        let ctx = SessionContext::new_with_config(config);
        let mut skipped = Vec::new();
        for table in Table::ALL {
            let table_dir = root.join(table.name());
            let parts = find_parts(&root, table, &PartFilter::default())
                .map_err(|e| StorageError::io(&table_dir, e))?;
            let mut good = 0usize;
            for found in &parts {
                match inspect(&found.path, &found.partition) {
                    Ok(_) => good += 1,
                    Err(problem) => skipped.push(problem),
                }
            }
            let provider: Arc<dyn datafusion::catalog::TableProvider> = if good == 0 {
                Arc::new(
                    MemTable::try_new(sql_schema(table), vec![vec![]])
                        .map_err(StorageError::datafusion)?,
                )
            } else {
                let url = format!("{}/", table_dir.display());
                let url = ListingTableUrl::parse(&url).map_err(StorageError::datafusion)?;
                let options = ListingOptions::new(Arc::new(ParquetFormat::default()))
                    .with_file_extension(".parquet")
                    .with_table_partition_cols(partition_columns());
                let config = ListingTableConfig::new(url)
                    .with_listing_options(options)
                    .with_schema(file_schema(table));
                Arc::new(ListingTable::try_new(config).map_err(StorageError::datafusion)?)
            };
            ctx.register_table(table.name(), provider).map_err(StorageError::datafusion)?;
        }
        if !skipped.is_empty() {
            let hidden = skipped
                .iter()
                .filter_map(|b| StorePath::from_filesystem_path(&b.path).ok())
                .collect();
            let store = VettedStore { inner: LocalFileSystem::new(), hidden };
            ctx.register_object_store(ObjectStoreUrl::local_filesystem().as_ref(), Arc::new(store));
        }
        Ok(Session { ctx, root, skipped })
    }
}

/// The local file system with some files hidden from listings: the parts that failed their
/// footer check. Everything else is passed through unchanged.
#[derive(Debug)]
struct VettedStore {
    inner: LocalFileSystem,
    hidden: Vec<StorePath>,
}

impl VettedStore {
    fn visible(&self, location: &StorePath) -> bool {
        !self.hidden.iter().any(|h| h == location)
    }
}

impl fmt::Display for VettedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VettedStore({}, {} hidden)", self.inner, self.hidden.len())
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
        let hidden = self.hidden.clone();
        self.inner
            .list(prefix)
            .filter(move |item| {
                let keep = match item {
                    Ok(meta) => !hidden.contains(&meta.location),
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
