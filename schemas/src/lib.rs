//! vigil's event model: the classes as Arrow schemas, and how rows get in.
//!
//! Every stage of vigil passes Arrow [`RecordBatch`](arrow_array::RecordBatch)es
//! of one [`Class`] each. A class is a fixed list of [`Field`]s; a column's
//! name is its OCSF attribute path with `.` replaced by `_`, so
//! `src_endpoint.ip` is `src_endpoint_ip`. Every class carries `time`,
//! `ingest_time`, `raw_data` and `unmapped` (source fields with no column, so
//! nothing read is lost and Sigma can still match on them).
//!
//! - [`fields`]: every column once, with OCSF path, type and meaning.
//! - [`class`]: which fields each class carries and its Arrow schema.
//! - [`builder`]: [`BatchBuilder`] and [`Row`], which decoders write into.
//! - [`json`]: rows back out as nested OCSF JSON (findings, evidence).
//!
//! The reference table of all columns is `schemas/COLUMNS.md`; a test keeps
//! it equal to [`reference_table`].

pub mod builder;
pub mod cidr;
pub mod class;
pub mod fields;
pub mod json;

pub use builder::{BatchBuilder, Row, parse_bool, parse_int, parse_ip};
pub use cidr::Cidr;
pub use class::{Class, timestamp_type};
pub use fields::{ColType, FIELDS, Field, FieldDef};

/// The column reference as Markdown: one table per class.
pub fn reference_table() -> String {
    let mut out = String::from(
        "# vigil column reference\n\n\
         Generated from `schemas/src/fields.rs` and `schemas/src/class.rs`; \
         `cargo test -p vigil-schemas` fails when this file and the code differ. \
         Regenerate with `VIGIL_BLESS=1 cargo test -p vigil-schemas`.\n\n\
         Timestamps are `Timestamp(Microsecond, \"UTC\")`. `unmapped` is `Map<Utf8, Utf8>`.\n",
    );
    for class in Class::ALL {
        out.push_str(&format!(
            "\n## `{}` (class_uid {})\n\n| column | OCSF path | type | meaning |\n|---|---|---|---|\n",
            class.name(),
            class.uid()
        ));
        for f in class.fields() {
            let d = f.def();
            out.push_str(&format!(
                "| `{}` | `{}` | {:?} | {} |\n",
                d.name, d.ocsf_path, d.ty, d.doc
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_table_is_indexed_by_field() {
        for (i, d) in FIELDS.iter().enumerate() {
            assert_eq!(d.field as usize, i, "{} out of place", d.name);
        }
    }

    #[test]
    fn column_names_follow_the_ocsf_path_rule() {
        for d in FIELDS {
            if d.ocsf_path.contains("extension") || d.ocsf_path.contains("[]") {
                continue;
            }
            assert_eq!(d.ocsf_path.replace('.', "_"), d.name, "{}", d.name);
        }
    }

    #[test]
    fn every_class_has_the_common_columns() {
        for c in Class::ALL {
            for f in [
                Field::Time,
                Field::IngestTime,
                Field::RawData,
                Field::Unmapped,
            ] {
                assert!(c.slot(f).is_some(), "{} lacks {}", c.name(), f.name());
            }
            assert_eq!(c.schema().fields().len(), c.fields().len());
        }
    }

    #[test]
    fn reference_table_matches_columns_md() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/COLUMNS.md");
        let want = reference_table();
        if std::env::var_os("VIGIL_BLESS").is_some() {
            std::fs::write(path, &want).expect("write COLUMNS.md");
        }
        let have = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            have == want,
            "schemas/COLUMNS.md is stale: run VIGIL_BLESS=1 cargo test -p vigil-schemas"
        );
    }

    #[test]
    fn row_sets_canonical_ip_and_keeps_foreign_fields() {
        use arrow_array::{Array, StringArray, cast::AsArray};
        let mut b = BatchBuilder::new(Class::Authentication);
        {
            let mut r = b.row();
            r.time_us(Field::Time, 0);
            r.ip(Field::SrcEndpointIp, "::ffff:192.0.2.10");
            r.str(Field::SrcEndpointPort, "50123");
            r.str(Field::QueryHostname, "example.com"); // not an auth column
            r.str(Field::UserName, "alice");
            r.str(Field::UserName, "bob"); // first value wins
        }
        {
            let mut r = b.row();
            r.ip(Field::SrcEndpointIp, "-");
        }
        let batch = b.finish();
        assert_eq!(batch.num_rows(), 2);
        let ip = batch.column_by_name("src_endpoint_ip").expect("col");
        let ip: &StringArray = ip.as_string();
        assert_eq!(ip.value(0), "192.0.2.10");
        assert!(ip.is_null(1));
        let user: &StringArray = batch.column_by_name("user_name").expect("col").as_string();
        assert_eq!(user.value(0), "alice");
        let port = batch.column_by_name("src_endpoint_port").expect("col");
        let port = port.as_primitive::<arrow_array::types::Int64Type>();
        assert_eq!(port.value(0), 50123);
        let um = batch.column_by_name("unmapped").expect("col").as_map();
        let keys = um.value(0);
        let keys = keys.column(0).as_string::<i32>();
        assert_eq!(keys.value(0), "query_hostname");
        assert_eq!(um.value(1).len(), 0);
        let cls = batch.column_by_name("class_uid").expect("col");
        assert_eq!(
            cls.as_primitive::<arrow_array::types::Int32Type>().value(1),
            3002
        );
    }
}
