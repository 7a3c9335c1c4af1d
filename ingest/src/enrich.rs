//! Geo and ASN enrichment of source and destination addresses from MaxMind
//! databases.
//!
//! A [`GeoEnricher`] holds up to two `.mmdb` files: a location database
//! (GeoIP2/GeoLite2 City or Country) and an ASN database (GeoLite2 ASN or
//! GeoIP2 ISP). [`GeoEnricher::enrich`] takes a class batch and fills, for
//! each of the `src_endpoint` and `dst_endpoint` sides the class carries:
//!
//! | column | from |
//! | --- | --- |
//! | `*_location_country` | `country.iso_code` |
//! | `*_location_city` | `city.names.en` |
//! | `*_location_lat`, `*_location_long` | `location.latitude`, `.longitude` |
//! | `*_autonomous_system_number` | `autonomous_system_number` |
//! | `*_autonomous_system_name` | `autonomous_system_organization` |
//!
//! Rules:
//! - Only rows whose address column is set are looked up, and a group is
//!   filled only where the source left all of it null: a decoder that set
//!   any location column (Okta's `geographicalContext`) keeps its location
//!   whole, so a row never mixes the source's country with MaxMind's city.
//!   The same holds for the two AS columns.
//! - Each distinct address is looked up once per batch, in both databases,
//!   and shared by the source and destination sides; names are borrowed
//!   from the database, so a lookup allocates nothing.
//! - Addresses the databases do not cover (private, reserved, not in a
//!   test database) and text that is not an address stay null.
//! - A batch whose class has no address and location columns (device
//!   posture, base events) comes back unchanged.
//!
//! Enrichment is off unless a database is configured: the caller builds no
//! enricher. Opening checks the whole file ([`maxminddb::Reader::verify`]),
//! so a corrupt database fails at start with its path rather than as nulls
//! later; for a full City database that walk takes a few seconds.
//!
//! ```no_run
//! use vigil_ingest::enrich::GeoEnricher;
//! # fn run(batch: arrow_array::RecordBatch) -> Result<(), Box<dyn std::error::Error>> {
//! let geo = GeoEnricher::open(
//!     Some("GeoLite2-City.mmdb".as_ref()),
//!     Some("GeoLite2-ASN.mmdb".as_ref()),
//! )?;
//! let enriched = geo.enrich(batch);
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{Array, ArrayRef, ArrowPrimitiveType, PrimitiveArray, RecordBatch, StringArray};
use arrow_schema::Schema;
use maxminddb::{MaxMindDbError, Reader};
use serde::Deserialize;
use vigil_schemas::Field;

/// Which database a file was opened as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum GeoRole {
    /// A City or Country database.
    Location,
    /// An ASN (or ISP) database.
    Asn,
}

impl fmt::Display for GeoRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GeoRole::Location => "location (City or Country)",
            GeoRole::Asn => "ASN",
        })
    }
}

/// A database that cannot be used, with the file it came from.
#[derive(Debug)]
#[non_exhaustive]
pub struct GeoError {
    /// The file.
    pub path: PathBuf,
    /// What it was opened as.
    pub role: GeoRole,
    /// What is wrong with it.
    pub detail: String,
}

impl fmt::Display for GeoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "geo: cannot use {} as the {} database: {}",
            self.path.display(),
            self.role,
            self.detail
        )
    }
}

impl std::error::Error for GeoError {}

/// One open database and the file it came from.
struct Db {
    reader: Reader<Vec<u8>>,
}

impl Db {
    fn open(path: &Path, role: GeoRole) -> Result<Db, GeoError> {
        let err = |detail: String| GeoError {
            path: path.to_path_buf(),
            role,
            detail,
        };
        let reader = Reader::open_readfile(path).map_err(|e| err(describe(&e)))?;
        reader
            .verify()
            .map_err(|e| err(format!("the file is corrupt: {e}")))?;
        let kind = reader.metadata().database_type.clone();
        let swapped = match role {
            GeoRole::Location => kind.contains("ASN"),
            GeoRole::Asn => kind.contains("City") || kind.contains("Country"),
        };
        if swapped {
            return Err(err(format!("it is a {kind} database")));
        }
        Ok(Db { reader })
    }
}

/// An open error in words: I/O, or not a MaxMind database at all.
fn describe(e: &MaxMindDbError) -> String {
    match e {
        MaxMindDbError::Io(io) => io.to_string(),
        MaxMindDbError::InvalidDatabase { .. } => format!("not a MaxMind DB file ({e})"),
        other => other.to_string(),
    }
}

/// Fills location and autonomous-system columns from MaxMind databases.
/// See the [module docs](self).
pub struct GeoEnricher {
    location: Option<Db>,
    asn: Option<Db>,
}

impl GeoEnricher {
    /// Open the location database (City or Country) and the ASN database,
    /// either of which may be left out; with neither, [`enrich`] changes
    /// nothing.
    ///
    /// [`enrich`]: GeoEnricher::enrich
    ///
    /// # Errors
    ///
    /// [`GeoError`] naming the file when it cannot be read, is not a
    /// MaxMind database, is corrupt, or is the other kind of database
    /// (an ASN file given as the location database, or the reverse).
    pub fn open(location: Option<&Path>, asn: Option<&Path>) -> Result<GeoEnricher, GeoError> {
        Ok(GeoEnricher {
            location: location
                .map(|p| Db::open(p, GeoRole::Location))
                .transpose()?,
            asn: asn.map(|p| Db::open(p, GeoRole::Asn)).transpose()?,
        })
    }

    /// Fill the geo columns of `batch` where its addresses are set and its
    /// geo columns are null. A batch without such columns is returned as is.
    pub fn enrich(&self, batch: RecordBatch) -> RecordBatch {
        let schema = batch.schema();
        let sides: Vec<Side> = [SRC, DST]
            .iter()
            .filter_map(|names| Side::find(&schema, names))
            .collect();
        if sides.is_empty() || (self.location.is_none() && self.asn.is_none()) {
            return batch;
        }

        let mut cols: Vec<ArrayRef> = batch.columns().to_vec();
        let mut changed = false;
        {
            let mut cache: HashMap<&str, Hit<'_>> = HashMap::new();
            for side in &sides {
                changed |= self.fill_side(&batch, side, &mut cache, &mut cols);
            }
        }
        if !changed {
            return batch;
        }
        RecordBatch::try_new(schema, cols).unwrap_or(batch)
    }

    /// Fill one side's columns into `cols`; true when any value was added.
    fn fill_side<'b>(
        &'b self,
        batch: &'b RecordBatch,
        side: &Side,
        cache: &mut HashMap<&'b str, Hit<'b>>,
        cols: &mut [ArrayRef],
    ) -> bool {
        let Some(wants) = self.resolve(batch, side, cache) else {
            return false;
        };
        let n = wants.len();
        let loc = |i: usize| {
            wants[i]
                .loc
                .then(|| wants[i].ip.and_then(|ip| cache.get(ip)))?
        };
        let asn = |i: usize| {
            wants[i]
                .asn
                .then(|| wants[i].ip.and_then(|ip| cache.get(ip)))?
        };

        let mut changed = put_utf8(cols, side.country, n, |i| loc(i).and_then(|h| h.country));
        changed |= put_utf8(cols, side.city, n, |i| loc(i).and_then(|h| h.city));
        changed |= put_prim::<Float64Type>(cols, side.lat, n, |i| loc(i).and_then(|h| h.lat));
        changed |= put_prim::<Float64Type>(cols, side.long, n, |i| loc(i).and_then(|h| h.long));
        let number = |i| asn(i).and_then(|h| h.as_number);
        changed |= put_prim::<Int64Type>(cols, side.as_number, n, number);
        changed |= put_utf8(cols, side.as_name, n, |i| asn(i).and_then(|h| h.as_name));
        changed
    }

    /// Decide per row which groups to fill, and look each distinct address
    /// that needs it up once into `cache`. `None` when the address column
    /// is not text.
    fn resolve<'b>(
        &'b self,
        batch: &'b RecordBatch,
        side: &Side,
        cache: &mut HashMap<&'b str, Hit<'b>>,
    ) -> Option<Vec<Want<'b>>> {
        let ips = batch.column(side.ip).as_string_opt::<i32>()?;
        let wants = (0..ips.len()).map(|i| {
            let ip = ips.is_valid(i).then(|| ips.value(i));
            let set = ip.is_some();
            let want = Want {
                loc: set && self.location.is_some() && all_null(batch, &side.loc_cols, i),
                asn: set && self.asn.is_some() && all_null(batch, &side.asn_cols, i),
                ip,
            };
            if let Some(ip) = ip.filter(|_| want.loc || want.asn) {
                cache.entry(ip).or_insert_with(|| self.lookup(ip));
            }
            want
        });
        Some(wants.collect())
    }

    /// Everything both databases know about one address.
    fn lookup<'r>(&'r self, ip: &str) -> Hit<'r> {
        let Ok(addr) = ip.parse::<IpAddr>() else {
            return Hit::default();
        };
        let mut hit = Hit::default();
        if let Some(rec) = self
            .location
            .as_ref()
            .and_then(|d| decode::<CityRecord<'r>>(d, addr))
        {
            hit.country = rec.country.and_then(|c| c.iso_code);
            hit.city = rec.city.and_then(|c| c.names).and_then(|n| n.en);
            if let Some(l) = rec.location {
                hit.lat = l.latitude;
                hit.long = l.longitude;
            }
        }
        if let Some(rec) = self
            .asn
            .as_ref()
            .and_then(|d| decode::<AsnRecord<'r>>(d, addr))
        {
            hit.as_number = rec.autonomous_system_number.map(i64::from);
            hit.as_name = rec.autonomous_system_organization;
        }
        hit
    }
}

/// Look `addr` up and decode its record; `None` when the database has no
/// data for it or the record cannot be read (verified files do not do that).
fn decode<'r, T: Deserialize<'r>>(db: &'r Db, addr: IpAddr) -> Option<T> {
    db.reader.lookup(addr).ok()?.decode::<T>().ok()?
}

/// What one lookup found, borrowed from the databases.
#[derive(Clone, Copy, Debug, Default)]
struct Hit<'r> {
    country: Option<&'r str>,
    city: Option<&'r str>,
    lat: Option<f64>,
    long: Option<f64>,
    as_number: Option<i64>,
    as_name: Option<&'r str>,
}

/// What one row of one side needs.
#[derive(Clone, Copy, Debug)]
struct Want<'b> {
    /// Fill the location columns.
    loc: bool,
    /// Fill the AS columns.
    asn: bool,
    /// The row's address.
    ip: Option<&'b str>,
}

/// The parts of a City or Country record vigil uses.
#[derive(Deserialize)]
struct CityRecord<'a> {
    #[serde(borrow, default)]
    country: Option<CountryPart<'a>>,
    #[serde(borrow, default)]
    city: Option<CityPart<'a>>,
    #[serde(default)]
    location: Option<LocationPart>,
}

#[derive(Deserialize)]
struct CountryPart<'a> {
    #[serde(borrow, default)]
    iso_code: Option<&'a str>,
}

#[derive(Deserialize)]
struct CityPart<'a> {
    #[serde(borrow, default)]
    names: Option<EnglishName<'a>>,
}

#[derive(Deserialize)]
struct EnglishName<'a> {
    #[serde(borrow, default)]
    en: Option<&'a str>,
}

#[derive(Deserialize)]
struct LocationPart {
    #[serde(default)]
    latitude: Option<f64>,
    #[serde(default)]
    longitude: Option<f64>,
}

/// The parts of an ASN (or ISP) record vigil uses.
#[derive(Deserialize)]
struct AsnRecord<'a> {
    #[serde(default)]
    autonomous_system_number: Option<u32>,
    #[serde(borrow, default)]
    autonomous_system_organization: Option<&'a str>,
}

/// The address column and the six geo columns of one side.
const SRC: [Field; 7] = [
    Field::SrcEndpointIp,
    Field::SrcEndpointLocationCountry,
    Field::SrcEndpointLocationCity,
    Field::SrcEndpointLocationLat,
    Field::SrcEndpointLocationLong,
    Field::SrcEndpointAsNumber,
    Field::SrcEndpointAsName,
];

const DST: [Field; 7] = [
    Field::DstEndpointIp,
    Field::DstEndpointLocationCountry,
    Field::DstEndpointLocationCity,
    Field::DstEndpointLocationLat,
    Field::DstEndpointLocationLong,
    Field::DstEndpointAsNumber,
    Field::DstEndpointAsName,
];

/// Column indices of one side in a batch.
struct Side {
    ip: usize,
    country: Option<usize>,
    city: Option<usize>,
    lat: Option<usize>,
    long: Option<usize>,
    as_number: Option<usize>,
    as_name: Option<usize>,
    /// The location columns the batch has.
    loc_cols: Vec<usize>,
    /// The AS columns the batch has.
    asn_cols: Vec<usize>,
}

impl Side {
    /// The side in `schema`, if it has the address and any geo column.
    fn find(schema: &Schema, names: &[Field; 7]) -> Option<Side> {
        let at = |f: Field| schema.index_of(f.name()).ok();
        let (country, city, lat, long) = (at(names[1]), at(names[2]), at(names[3]), at(names[4]));
        let (as_number, as_name) = (at(names[5]), at(names[6]));
        let side = Side {
            ip: at(names[0])?,
            country,
            city,
            lat,
            long,
            as_number,
            as_name,
            loc_cols: [country, city, lat, long].into_iter().flatten().collect(),
            asn_cols: [as_number, as_name].into_iter().flatten().collect(),
        };
        (!side.loc_cols.is_empty() || !side.asn_cols.is_empty()).then_some(side)
    }
}

/// Whether every column of a group is null in row `i` (false for an empty
/// group: there is nothing to fill).
fn all_null(batch: &RecordBatch, group: &[usize], i: usize) -> bool {
    !group.is_empty() && group.iter().all(|c| batch.column(*c).is_null(i))
}

/// Replace text column `slot` with its values plus `fill` where it is null.
fn put_utf8<'a>(
    cols: &mut [ArrayRef],
    slot: Option<usize>,
    n: usize,
    fill: impl Fn(usize) -> Option<&'a str>,
) -> bool {
    let Some(s) = slot else { return false };
    let Some(old) = cols[s].as_string_opt::<i32>() else {
        return false;
    };
    let mut added = false;
    let new: StringArray = (0..n)
        .map(|i| match old.is_valid(i) {
            true => Some(old.value(i)),
            false => fill(i).inspect(|_| added = true),
        })
        .collect();
    if added {
        cols[s] = Arc::new(new);
    }
    added
}

/// [`put_utf8`] for a numeric column.
fn put_prim<T: ArrowPrimitiveType>(
    cols: &mut [ArrayRef],
    slot: Option<usize>,
    n: usize,
    fill: impl Fn(usize) -> Option<T::Native>,
) -> bool {
    let Some(s) = slot else { return false };
    let Some(old) = cols[s].as_primitive_opt::<T>() else {
        return false;
    };
    let mut added = false;
    let new: PrimitiveArray<T> = (0..n)
        .map(|i| match old.is_valid(i) {
            true => Some(old.value(i)),
            false => fill(i).inspect(|_| added = true),
        })
        .collect();
    if added {
        cols[s] = Arc::new(new);
    }
    added
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_schemas::{BatchBuilder, Class};

    const GEO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/geo/");

    #[test]
    fn each_distinct_address_is_looked_up_once() -> Result<(), GeoError> {
        let city = PathBuf::from(GEO).join("GeoIP2-City-Test.mmdb");
        let g = GeoEnricher::open(Some(&city), None)?;
        let mut b = BatchBuilder::new(Class::NetworkActivity);
        for (src, dst) in [("81.2.69.142", "1.0.0.1"), ("81.2.69.142", "81.2.69.142")] {
            let mut row = b.row();
            row.ip(Field::SrcEndpointIp, src);
            row.ip(Field::DstEndpointIp, dst);
        }
        let batch = b.finish();
        let schema = batch.schema();
        let mut cache = HashMap::new();
        for names in [SRC, DST] {
            let side = Side::find(&schema, &names).expect("network activity has both sides");
            let wants = g
                .resolve(&batch, &side, &mut cache)
                .expect("text addresses");
            assert!(wants.iter().all(|w| w.loc && !w.asn), "no ASN database");
        }
        // Four address cells, two distinct addresses.
        assert_eq!(cache.len(), 2);
        Ok(())
    }
}
