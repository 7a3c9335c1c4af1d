//! Geo and ASN enrichment with MaxMind's test databases (shared/data/geo).
//! Expected answers are the known ones in shared/data/SOURCES.md (geo
//! section) and the `source-data_*.json` the databases were built from.

use std::path::PathBuf;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{Array, RecordBatch};
use vigil_ingest::enrich::{GeoEnricher, GeoError};
use vigil_schemas::{BatchBuilder, Class, Field};

const GEO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/geo/");

fn geo(name: &str) -> PathBuf {
    let p = PathBuf::from(GEO).join(name);
    assert!(
        p.exists(),
        "test data missing: {} (see shared/data/SOURCES.md)",
        p.display()
    );
    p
}

fn city_and_asn() -> GeoEnricher {
    let city = geo("GeoIP2-City-Test.mmdb");
    let asn = geo("GeoLite2-ASN-Test.mmdb");
    GeoEnricher::open(Some(&city), Some(&asn)).expect("test databases open")
}

/// A batch of `class` with one row per (source, destination) pair.
fn batch(class: Class, rows: &[(Option<&str>, Option<&str>)]) -> RecordBatch {
    let mut b = BatchBuilder::new(class);
    for (src, dst) in rows {
        let mut row = b.row();
        row.time_us(Field::Time, 0);
        if let Some(ip) = src {
            row.ip(Field::SrcEndpointIp, ip);
        }
        if let Some(ip) = dst {
            row.ip(Field::DstEndpointIp, ip);
        }
    }
    b.finish()
}

fn text(b: &RecordBatch, col: &str, row: usize) -> Option<String> {
    let a = b.column_by_name(col).expect(col).as_string::<i32>();
    (!a.is_null(row)).then(|| a.value(row).to_string())
}

fn float(b: &RecordBatch, col: &str, row: usize) -> Option<f64> {
    let a = b
        .column_by_name(col)
        .expect(col)
        .as_primitive::<Float64Type>();
    (!a.is_null(row)).then(|| a.value(row))
}

fn int(b: &RecordBatch, col: &str, row: usize) -> Option<i64> {
    let a = b
        .column_by_name(col)
        .expect(col)
        .as_primitive::<Int64Type>();
    (!a.is_null(row)).then(|| a.value(row))
}

fn open_error(city: Option<PathBuf>, asn: Option<PathBuf>) -> GeoError {
    match GeoEnricher::open(city.as_deref(), asn.as_deref()) {
        Ok(_) => panic!("opened {city:?} {asn:?}"),
        Err(e) => e,
    }
}

#[test]
fn known_city_answers_for_source_addresses() {
    let g = city_and_asn();
    let rows = [
        (Some("81.2.69.142"), None),
        (Some("216.160.83.56"), None),
        (Some("2.125.160.217"), None),
    ];
    let b = g.enrich(batch(Class::Authentication, &rows));

    assert_eq!(
        text(&b, "src_endpoint_location_country", 0).as_deref(),
        Some("GB")
    );
    assert_eq!(
        text(&b, "src_endpoint_location_city", 0).as_deref(),
        Some("London")
    );
    assert_eq!(float(&b, "src_endpoint_location_lat", 0), Some(51.5142));
    assert_eq!(float(&b, "src_endpoint_location_long", 0), Some(-0.0931));

    assert_eq!(
        text(&b, "src_endpoint_location_city", 1).as_deref(),
        Some("Milton")
    );
    assert_eq!(
        text(&b, "src_endpoint_location_country", 1).as_deref(),
        Some("US")
    );
    assert_eq!(
        text(&b, "src_endpoint_location_city", 2).as_deref(),
        Some("Boxford")
    );
    assert_eq!(
        text(&b, "src_endpoint_location_country", 2).as_deref(),
        Some("GB")
    );
}

#[test]
fn asn_answer_and_both_sides_of_a_flow() {
    let g = city_and_asn();
    let rows = [(Some("1.0.0.1"), Some("81.2.69.142"))];
    let b = g.enrich(batch(Class::NetworkActivity, &rows));

    // 1.0.0.0/24 -> AS15169 "Google Inc." (source-data_GeoLite2-ASN-Test.json).
    assert_eq!(
        int(&b, "src_endpoint_autonomous_system_number", 0),
        Some(15169)
    );
    assert_eq!(
        text(&b, "src_endpoint_autonomous_system_name", 0).as_deref(),
        Some("Google Inc.")
    );
    assert_eq!(
        text(&b, "dst_endpoint_location_city", 0).as_deref(),
        Some("London")
    );
    assert_eq!(
        text(&b, "dst_endpoint_location_country", 0).as_deref(),
        Some("GB")
    );
}

#[test]
fn private_unknown_and_missing_addresses_stay_null() {
    let g = city_and_asn();
    let rows = [
        (Some("10.1.2.3"), None),
        (Some("192.168.0.4"), None),
        (Some("198.51.100.7"), None),
        (None, None),
    ];
    let b = g.enrich(batch(Class::Authentication, &rows));
    for row in 0..rows.len() {
        for col in [
            "src_endpoint_location_country",
            "src_endpoint_location_city",
        ] {
            assert_eq!(text(&b, col, row), None, "row {row} {col}");
        }
        assert_eq!(
            float(&b, "src_endpoint_location_lat", row),
            None,
            "row {row}"
        );
        assert_eq!(int(&b, "src_endpoint_autonomous_system_number", row), None);
    }
}

#[test]
fn ipv6_addresses_are_looked_up() {
    let g = city_and_asn();
    // 2001:218::/32 -> JP (35.68536, 139.75309), no city;
    // 2001:2000::/20 -> AS1299 (source-data json files).
    let rows = [(Some("2001:218::1"), Some("2001:2000::1"))];
    let b = g.enrich(batch(Class::NetworkActivity, &rows));
    assert_eq!(
        text(&b, "src_endpoint_location_country", 0).as_deref(),
        Some("JP")
    );
    assert_eq!(text(&b, "src_endpoint_location_city", 0), None);
    assert_eq!(float(&b, "src_endpoint_location_lat", 0), Some(35.68536));
    assert_eq!(float(&b, "src_endpoint_location_long", 0), Some(139.75309));
    assert_eq!(
        int(&b, "dst_endpoint_autonomous_system_number", 0),
        Some(1299)
    );
}

#[test]
fn a_location_set_by_the_decoder_is_kept_whole() {
    let g = city_and_asn();
    let mut b = BatchBuilder::new(Class::Authentication);
    {
        // Like Okta: the source gave a country for this address.
        let mut row = b.row();
        row.ip(Field::SrcEndpointIp, "81.2.69.142");
        row.str(Field::SrcEndpointLocationCountry, "US");
    }
    {
        let mut row = b.row();
        row.ip(Field::SrcEndpointIp, "81.2.69.142");
    }
    let out = g.enrich(b.finish());

    assert_eq!(
        text(&out, "src_endpoint_location_country", 0).as_deref(),
        Some("US")
    );
    assert_eq!(
        text(&out, "src_endpoint_location_city", 0),
        None,
        "no mixed location"
    );
    assert_eq!(float(&out, "src_endpoint_location_lat", 0), None);
    // The second row, with the same address and no location, is filled.
    assert_eq!(
        text(&out, "src_endpoint_location_city", 1).as_deref(),
        Some("London")
    );
}

#[test]
fn a_country_database_gives_the_country_only() {
    let country = geo("GeoIP2-Country-Test.mmdb");
    let g = GeoEnricher::open(Some(&country), None).expect("open");
    let b = g.enrich(batch(Class::Authentication, &[(Some("81.2.69.142"), None)]));
    assert_eq!(
        text(&b, "src_endpoint_location_country", 0).as_deref(),
        Some("GB")
    );
    assert_eq!(text(&b, "src_endpoint_location_city", 0), None);
    assert_eq!(int(&b, "src_endpoint_autonomous_system_number", 0), None);
}

#[test]
fn batches_without_geo_columns_come_back_unchanged() {
    let g = city_and_asn();
    for class in [Class::BaseEvent, Class::DevicePosture] {
        let before = batch(class, &[(Some("81.2.69.142"), None)]);
        let after = g.enrich(before.clone());
        assert_eq!(after, before, "{}", class.name());
    }
}

#[test]
fn no_database_changes_nothing() {
    let g = GeoEnricher::open(None, None).expect("nothing to open");
    let before = batch(Class::Authentication, &[(Some("81.2.69.142"), None)]);
    assert_eq!(g.enrich(before.clone()), before);
}

#[test]
fn a_corrupt_database_is_refused_naming_the_file() {
    let e = open_error(
        Some(geo("GeoIP2-City-Test-Broken-Double-Format.mmdb")),
        None,
    );
    let msg = e.to_string();
    assert!(msg.starts_with("geo: cannot use "), "{msg}");
    assert!(
        msg.contains("GeoIP2-City-Test-Broken-Double-Format.mmdb"),
        "{msg}"
    );
    assert!(msg.contains("corrupt"), "{msg}");
}

#[test]
fn a_file_that_is_not_mmdb_is_refused_naming_the_file() {
    let e = open_error(Some(geo("source-data_GeoIP2-City-Test.json")), None);
    let msg = e.to_string();
    assert!(msg.contains("source-data_GeoIP2-City-Test.json"), "{msg}");
    assert!(msg.contains("not a MaxMind DB file"), "{msg}");

    let missing = PathBuf::from(GEO).join("no-such.mmdb");
    let msg = open_error(None, Some(missing)).to_string();
    assert!(
        msg.contains("no-such.mmdb") && msg.contains("ASN database"),
        "{msg}"
    );
}

#[test]
fn swapped_databases_are_refused() {
    let msg = open_error(Some(geo("GeoLite2-ASN-Test.mmdb")), None).to_string();
    assert!(msg.contains("it is a GeoLite2-ASN database"), "{msg}");
    let msg = open_error(None, Some(geo("GeoIP2-City-Test.mmdb"))).to_string();
    assert!(msg.contains("it is a GeoIP2-City database"), "{msg}");
}
