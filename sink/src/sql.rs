//! SQL over the lake with DataFusion: one table per class, named after it.
//!
//! Each class directory is a listing table with the hive partition columns
//! `date` (`YYYY-MM-DD`) and `hour` (`HH`) as text, so a filter on them
//! skips whole directories. A class with no data yet is still a table, an
//! empty one, so a query never fails for want of a directory.
//!
//! vigil's own SQL functions are registered on every session:
//! `vigil_cidr_match(ip, 'net')` is true when the text `ip` is an address
//! inside the network (what Sigma's `cidr` modifier tests; `vigil rules
//! to-sql` uses it).

use std::path::Path;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, Field, Schema};
use datafusion::datasource::MemTable;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::ListingOptions;
use datafusion::execution::context::SQLOptions;
use datafusion::logical_expr::{ColumnarValue, Volatility, create_udf};
use datafusion::prelude::{SessionConfig, SessionContext};
use vigil_schemas::Class;

use crate::SinkError;

/// Output formats of query results.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResultFormat {
    /// An aligned text table.
    Table,
    /// CSV with a header row.
    Csv,
    /// One JSON object per row (NDJSON).
    Json,
}

fn partition_cols() -> Vec<(String, DataType)> {
    vec![
        ("date".to_string(), DataType::Utf8),
        ("hour".to_string(), DataType::Utf8),
    ]
}

/// The schema a lake table shows in SQL: the class columns, then `date`
/// and `hour`.
pub fn table_schema(class: Class) -> Arc<Schema> {
    let mut fields: Vec<Field> = class
        .schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    fields.push(Field::new("date", DataType::Utf8, false));
    fields.push(Field::new("hour", DataType::Utf8, false));
    Arc::new(Schema::new(fields))
}

/// A session with every class of the lake at `root` registered.
///
/// # Errors
///
/// `root` does not exist, or DataFusion cannot register a table.
pub async fn lake_context(root: &Path) -> Result<SessionContext, SinkError> {
    if !root.is_dir() {
        return Err(SinkError::Config(format!(
            "lake {} is not a directory",
            root.display()
        )));
    }
    let has_class = Class::ALL.iter().any(|c| root.join(c.name()).is_dir());
    if !has_class && root.join("lake").is_dir() {
        return Err(SinkError::Config(format!(
            "{} holds no class tables; did you mean {}?",
            root.display(),
            root.join("lake").display()
        )));
    }
    let config = SessionConfig::new().with_information_schema(true);
    let ctx = SessionContext::new_with_config(config);
    register_functions(&ctx);
    for class in Class::ALL {
        let dir = root.join(class.name());
        if dir.is_dir() {
            let url = format!(
                "{}/",
                dir.canonicalize()
                    .map_err(|e| SinkError::io(&dir, e))?
                    .display()
            );
            let opts = ListingOptions::new(Arc::new(ParquetFormat::default()))
                .with_file_extension(".parquet")
                .with_table_partition_cols(partition_cols());
            ctx.register_listing_table(class.name(), &url, opts, Some(class.schema()), None)
                .await
                .map_err(SinkError::query)?;
        } else {
            let empty =
                MemTable::try_new(table_schema(class), vec![vec![]]).map_err(SinkError::query)?;
            ctx.register_table(class.name(), Arc::new(empty))
                .map_err(SinkError::query)?;
        }
    }
    Ok(ctx)
}

/// Register vigil's SQL functions (see the module docs) on `ctx`.
pub fn register_functions(ctx: &SessionContext) {
    let cidr = create_udf(
        "vigil_cidr_match",
        vec![DataType::Utf8, DataType::Utf8],
        DataType::Boolean,
        Volatility::Immutable,
        Arc::new(cidr_match),
    );
    ctx.register_udf(cidr);
}

fn cidr_match(args: &[ColumnarValue]) -> datafusion::error::Result<ColumnarValue> {
    use arrow::array::{Array, AsArray, BooleanArray};
    let arrays = ColumnarValue::values_to_arrays(args)?;
    let (Some(ips), Some(nets)) = (
        arrays.first().and_then(|a| a.as_string_opt::<i32>()),
        arrays.get(1).and_then(|a| a.as_string_opt::<i32>()),
    ) else {
        return Err(datafusion::error::DataFusionError::Plan(
            "vigil_cidr_match(ip, net) takes two text arguments".into(),
        ));
    };
    let mut last: Option<(String, Option<vigil_schemas::Cidr>)> = None;
    let out: BooleanArray = (0..ips.len())
        .map(|i| {
            if ips.is_null(i) || nets.is_null(i) {
                return None;
            }
            let text = nets.value(i);
            if last.as_ref().is_none_or(|(t, _)| t != text) {
                last = Some((text.to_string(), vigil_schemas::Cidr::parse(text)));
            }
            let net = last.as_ref().and_then(|(_, n)| n.as_ref());
            Some(net.is_some_and(|n| n.contains_text(ips.value(i))))
        })
        .collect();
    Ok(ColumnarValue::Array(Arc::new(out)))
}

/// Run one read-only query and collect its result.
///
/// # Errors
///
/// The SQL does not parse or plan, it would change something (DDL, DML,
/// `COPY`, `SET`), or execution fails; the message is DataFusion's.
pub async fn query(ctx: &SessionContext, sql: &str) -> Result<Vec<RecordBatch>, SinkError> {
    // N.B. read-only: no DDL (CREATE, DROP), no DML (INSERT, COPY), no SET.
    let options = SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false);
    let df = ctx
        .sql_with_options(sql, options)
        .await
        .map_err(SinkError::query)?;
    df.collect().await.map_err(SinkError::query)
}

/// Render batches in `format`.
///
/// # Errors
///
/// A value cannot be rendered.
pub fn render(batches: &[RecordBatch], format: ResultFormat) -> Result<String, SinkError> {
    match format {
        ResultFormat::Table => arrow::util::pretty::pretty_format_batches(batches)
            .map(|t| format!("{t}\n"))
            .map_err(SinkError::arrow),
        ResultFormat::Csv => {
            let mut out = Vec::new();
            {
                let mut w = arrow::csv::WriterBuilder::new()
                    .with_header(true)
                    .build(&mut out);
                for b in batches {
                    w.write(b).map_err(SinkError::arrow)?;
                }
            }
            if batches.is_empty() {
                return Ok(String::new());
            }
            String::from_utf8(out).map_err(|e| SinkError::Config(e.to_string()))
        }
        ResultFormat::Json => {
            let mut out = Vec::new();
            {
                let mut w = arrow::json::LineDelimitedWriter::new(&mut out);
                for b in batches {
                    w.write(b).map_err(SinkError::arrow)?;
                }
                w.finish().map_err(SinkError::arrow)?;
            }
            String::from_utf8(out).map_err(|e| SinkError::Config(e.to_string()))
        }
    }
}
