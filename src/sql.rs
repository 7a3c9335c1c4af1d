//! `vigil sql`: one query over the lake, printed as a table, CSV or JSON.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use vigil_sink::sql::{ResultFormat, lake_context, query, render};

pub fn run(lake: PathBuf, format: ResultFormat, sql: &str) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the query runtime")?;
    let text = rt.block_on(async {
        let ctx = lake_context(&lake).await?;
        let batches = query(&ctx, sql).await?;
        render(&batches, format)
    })?;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()) {
        // A reader that stops early (`| head`) is not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}
