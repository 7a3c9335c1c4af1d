//! The lake round trip: batches in, Parquet on disk, the same values out
//! through SQL.

use arrow::array::{Array, AsArray};
use arrow::datatypes::TimestampMicrosecondType;
use chrono::DateTime;
use vigil_schemas::{BatchBuilder, Class, Field};
use vigil_sink::lake::LakeWriter;
use vigil_sink::sql::{lake_context, query};

fn us(s: &str) -> i64 {
    DateTime::parse_from_rfc3339(s)
        .expect("constant")
        .timestamp_micros()
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// Edge case BH-08: "never expires" (9999-12-31) and FILETIME zero
/// (1601-01-01) survive Parquet and SQL without overflow or panic.
#[test]
fn far_past_and_future_timestamps_round_trip() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut b = BatchBuilder::new(Class::DevicePosture);
    for (host, seen) in [("a", "9999-12-31T23:59:59Z"), ("b", "1601-01-01T00:00:00Z")] {
        let mut r = b.row();
        r.time_us(Field::Time, us("2024-05-01T12:00:00Z"));
        r.str(Field::DeviceHostname, host);
        r.time_us(Field::DeviceLastSeenTime, us(seen));
    }
    let mut lake = LakeWriter::create(dir.path(), "t").expect("lake");
    lake.write(Class::DevicePosture, &b.finish())
        .expect("write");
    lake.finish().expect("finish");

    let rt = rt();
    let ctx = rt.block_on(lake_context(dir.path())).expect("ctx");
    let sql = "select device_last_seen_time from device_posture order by device_hostname";
    let out = rt.block_on(query(&ctx, sql)).expect("query");
    let col = out[0].column(0).as_primitive::<TimestampMicrosecondType>();
    assert_eq!(col.value(0), us("9999-12-31T23:59:59Z"));
    assert_eq!(col.value(1), us("1601-01-01T00:00:00Z"));
    let future = "select count(*) from device_posture where device_last_seen_time > now()";
    let n = rt.block_on(query(&ctx, future)).expect("query");
    let n = n[0]
        .column(0)
        .as_primitive::<arrow::datatypes::Int64Type>()
        .value(0);
    assert_eq!(n, 1);
}

/// Rows are split by the hour of their event time into hive partitions,
/// and no file is left in progress after `finish`.
#[test]
fn batches_split_into_hour_partitions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut b = BatchBuilder::new(Class::Authentication);
    for t in [
        "2020-10-22T08:59:59Z",
        "2020-10-22T09:00:00Z",
        "2020-10-22T08:30:00Z",
    ] {
        let mut r = b.row();
        r.time_us(Field::Time, us(t));
        r.str(Field::UserName, t);
    }
    let mut lake = LakeWriter::create(dir.path(), "t").expect("lake");
    lake.write(Class::Authentication, &b.finish())
        .expect("write");
    let stats = lake.finish().expect("finish");
    assert_eq!(stats.files, 2);
    let base = dir.path().join("authentication/date=2020-10-22");
    for (hour, rows) in [("hour=08", 2), ("hour=09", 1)] {
        let files: Vec<_> = std::fs::read_dir(base.join(hour))
            .expect("dir")
            .flatten()
            .collect();
        assert_eq!(files.len(), 1);
        let name = files[0].file_name().to_string_lossy().into_owned();
        assert!(name.ends_with(".parquet"), "{name}");
        let rt = rt();
        let ctx = rt.block_on(lake_context(dir.path())).expect("ctx");
        let h = &hour[5..];
        let sql = format!("select count(*) from authentication where hour = '{h}'");
        let n = rt.block_on(query(&ctx, &sql)).expect("query");
        let n = n[0].column(0).as_primitive::<arrow::datatypes::Int64Type>();
        assert_eq!(n.value(0), rows, "{hour}");
        assert!(!n.is_null(0));
    }
}

/// `unmapped` keeps source fields and SQL can index it by key.
#[test]
fn unmapped_is_indexable_by_key_in_sql() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut b = BatchBuilder::new(Class::Authentication);
    {
        let mut r = b.row();
        r.time_us(Field::Time, us("2020-10-22T08:29:55Z"));
        r.unmapped("TicketEncryptionType", "0x17");
        r.unmapped("ServiceName", "sysmonsvc");
    }
    let mut lake = LakeWriter::create(dir.path(), "t").expect("lake");
    lake.write(Class::Authentication, &b.finish())
        .expect("write");
    lake.finish().expect("finish");
    let rt = rt();
    let ctx = rt.block_on(lake_context(dir.path())).expect("ctx");
    let sql = "select unmapped['ServiceName'] from authentication \
               where unmapped['TicketEncryptionType'] = '0x17'";
    let out = rt.block_on(query(&ctx, sql)).expect("query");
    assert_eq!(out[0].column(0).as_string::<i32>().value(0), "sysmonsvc");
}
