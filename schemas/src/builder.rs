//! Row-at-a-time construction of class batches.
//!
//! A decoder asks a [`BatchBuilder`] for a [`Row`], sets the fields it
//! knows, and drops or finishes the row; every column it did not set is
//! null. A field the class does not carry is kept in `unmapped` under the
//! column name, so a decoder can never lose a value by setting the wrong
//! field. The first value set for a field wins; later ones are ignored.
//!
//! ```
//! use vigil_schemas::{BatchBuilder, Class, Field};
//! let mut b = BatchBuilder::new(Class::Authentication);
//! let mut row = b.row();
//! row.time_us(Field::Time, 1_600_000_000_000_000);
//! row.str(Field::UserName, "alice");
//! row.ip(Field::SrcEndpointIp, "::ffff:192.0.2.10");
//! row.finish();
//! let batch = b.finish();
//! assert_eq!(batch.num_rows(), 1);
//! ```

use std::net::IpAddr;
use std::sync::Arc;

use arrow_array::builder::{
    ArrayBuilder, BooleanBuilder, Float64Builder, Int32Builder, Int64Builder, MapBuilder,
    StringBuilder, TimestampMicrosecondBuilder,
};
use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, RecordBatch};
use chrono::{DateTime, Utc};

use crate::class::Class;
use crate::fields::{ColType, Field};

type MapB = MapBuilder<StringBuilder, StringBuilder>;

enum Col {
    Utf8(StringBuilder),
    Int32(Int32Builder),
    Int64(Int64Builder),
    Float64(Float64Builder),
    Bool(BooleanBuilder),
    Ts(TimestampMicrosecondBuilder),
    Map(Box<MapB>),
}

impl Col {
    fn new(ty: ColType) -> Col {
        match ty {
            ColType::Utf8 => Col::Utf8(StringBuilder::new()),
            ColType::Int32 => Col::Int32(Int32Builder::new()),
            ColType::Int64 => Col::Int64(Int64Builder::new()),
            ColType::Float64 => Col::Float64(Float64Builder::new()),
            ColType::Bool => Col::Bool(BooleanBuilder::new()),
            ColType::Timestamp => Col::Ts(TimestampMicrosecondBuilder::new().with_timezone("UTC")),
            ColType::Map => Col::Map(Box::new(MapB::new(
                None,
                StringBuilder::new(),
                StringBuilder::new(),
            ))),
        }
    }

    fn append_null(&mut self) {
        match self {
            Col::Utf8(b) => b.append_null(),
            Col::Int32(b) => b.append_null(),
            Col::Int64(b) => b.append_null(),
            Col::Float64(b) => b.append_null(),
            Col::Bool(b) => b.append_null(),
            Col::Ts(b) => b.append_null(),
            // N.B. an empty map, not a null one: "no unmapped fields".
            Col::Map(b) => {
                let _ = b.append(true);
            }
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Col::Utf8(b) => Arc::new(b.finish()),
            Col::Int32(b) => Arc::new(b.finish()),
            Col::Int64(b) => Arc::new(b.finish()),
            Col::Float64(b) => Arc::new(b.finish()),
            Col::Bool(b) => Arc::new(b.finish()),
            Col::Ts(b) => Arc::new(b.finish()),
            Col::Map(b) => Arc::new(b.finish()),
        }
    }

    /// An empty builder like `self`, its buffers sized for `rows` rows
    /// holding what `done` (the array `self` just produced) held, so the
    /// next batch does not regrow them by reallocation.
    fn presized(&self, rows: usize, done: &ArrayRef) -> Col {
        let text = |a: &dyn Array| a.as_string_opt::<i32>().map_or(0, |s| s.value_data().len());
        match self {
            Col::Utf8(_) => Col::Utf8(StringBuilder::with_capacity(rows, text(done.as_ref()))),
            Col::Int32(_) => Col::Int32(Int32Builder::with_capacity(rows)),
            Col::Int64(_) => Col::Int64(Int64Builder::with_capacity(rows)),
            Col::Float64(_) => Col::Float64(Float64Builder::with_capacity(rows)),
            Col::Bool(_) => Col::Bool(BooleanBuilder::with_capacity(rows)),
            Col::Ts(_) => {
                Col::Ts(TimestampMicrosecondBuilder::with_capacity(rows).with_timezone("UTC"))
            }
            Col::Map(_) => {
                let (n, kb, vb) = done.as_map_opt().map_or((0, 0, 0), |m| {
                    (
                        m.keys().len(),
                        text(m.keys().as_ref()),
                        text(m.values().as_ref()),
                    )
                });
                Col::Map(Box::new(MapB::with_capacity(
                    None,
                    StringBuilder::with_capacity(n, kb),
                    StringBuilder::with_capacity(n, vb),
                    rows,
                )))
            }
        }
    }

    fn len(&self) -> usize {
        match self {
            Col::Utf8(b) => b.len(),
            Col::Int32(b) => b.len(),
            Col::Int64(b) => b.len(),
            Col::Float64(b) => b.len(),
            Col::Bool(b) => b.len(),
            Col::Ts(b) => b.len(),
            Col::Map(b) => b.len(),
        }
    }
}

/// Builds one [`RecordBatch`] of a class, a row at a time.
pub struct BatchBuilder {
    class: Class,
    cols: Vec<Col>,
    set: Vec<bool>,
    unmapped_slot: usize,
    rows: usize,
    bytes: usize,
}

impl BatchBuilder {
    /// An empty builder for `class`.
    pub fn new(class: Class) -> BatchBuilder {
        let cols: Vec<Col> = class
            .fields()
            .iter()
            .map(|f| Col::new(f.def().ty))
            .collect();
        let n = cols.len();
        let unmapped_slot = class.slot(Field::Unmapped).unwrap_or(n - 1);
        BatchBuilder {
            class,
            cols,
            set: vec![false; n],
            unmapped_slot,
            rows: 0,
            bytes: 0,
        }
    }

    /// The class being built.
    pub fn class(&self) -> Class {
        self.class
    }

    /// Rows finished so far.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// True when no row has been finished.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// A rough count of the text bytes held, for flushing by size.
    pub fn approx_bytes(&self) -> usize {
        self.bytes
    }

    /// Start a row. It is finished by [`Row::finish`] or when dropped.
    pub fn row(&mut self) -> Row<'_> {
        self.set.iter_mut().for_each(|s| *s = false);
        Row {
            b: self,
            done: false,
        }
    }

    /// Take the rows built so far as a batch, leaving the builder empty
    /// with room for a batch like this one.
    pub fn finish(&mut self) -> RecordBatch {
        let arrays: Vec<ArrayRef> = self.cols.iter_mut().map(Col::finish).collect();
        for (col, done) in self.cols.iter_mut().zip(&arrays) {
            *col = col.presized(self.rows, done);
        }
        self.rows = 0;
        self.bytes = 0;
        RecordBatch::try_new(self.class.schema(), arrays)
            .unwrap_or_else(|e| panic!("schemas: builder produced a batch off its schema: {e}"))
    }
}

/// One row being written. See the [module docs](self).
pub struct Row<'a> {
    b: &'a mut BatchBuilder,
    done: bool,
}

impl Row<'_> {
    /// The class of the row.
    pub fn class(&self) -> Class {
        self.b.class
    }

    /// Whether `field` has been set in this row.
    pub fn is_set(&self, field: Field) -> bool {
        self.b.class.slot(field).is_some_and(|s| self.b.set[s])
    }

    fn claim(&mut self, field: Field) -> Option<usize> {
        let slot = self.b.class.slot(field)?;
        if self.b.set[slot] {
            return None;
        }
        self.b.set[slot] = true;
        Some(slot)
    }

    /// Set a text value. Into a numeric, boolean or time column the text is
    /// parsed; text that does not parse leaves the column null and is kept
    /// in `unmapped` under the column name.
    pub fn str(&mut self, field: Field, v: &str) -> &mut Self {
        if self.b.class.slot(field).is_none() {
            return self.unmapped(field.name(), v);
        }
        match field.def().ty {
            ColType::Utf8 => {
                if let Some(s) = self.claim(field) {
                    self.b.bytes += v.len();
                    if let Col::Utf8(b) = &mut self.b.cols[s] {
                        b.append_value(v);
                    }
                }
            }
            ColType::Int32 | ColType::Int64 => match parse_int(v) {
                Some(n) => return self.int(field, n),
                None => return self.unmapped(field.name(), v),
            },
            ColType::Float64 => match v.trim().parse::<f64>() {
                Ok(n) => return self.float(field, n),
                Err(_) => return self.unmapped(field.name(), v),
            },
            ColType::Bool => match parse_bool(v) {
                Some(n) => return self.bool(field, n),
                None => return self.unmapped(field.name(), v),
            },
            ColType::Timestamp => match DateTime::parse_from_rfc3339(v.trim()) {
                Ok(t) => return self.time(field, t.with_timezone(&Utc)),
                Err(_) => return self.unmapped(field.name(), v),
            },
            ColType::Map => return self.unmapped(field.name(), v),
        }
        self
    }

    /// Set a text value when there is one.
    pub fn opt_str(&mut self, field: Field, v: Option<&str>) -> &mut Self {
        if let Some(v) = v {
            self.str(field, v);
        }
        self
    }

    /// Set an integer. Into a text column it is written in decimal.
    pub fn int(&mut self, field: Field, v: i64) -> &mut Self {
        if self.b.class.slot(field).is_none() {
            return self.unmapped(field.name(), &v.to_string());
        }
        match field.def().ty {
            ColType::Int32 => match i32::try_from(v) {
                Ok(n) => {
                    if let Some(s) = self.claim(field)
                        && let Col::Int32(b) = &mut self.b.cols[s]
                    {
                        b.append_value(n);
                    }
                }
                Err(_) => return self.unmapped(field.name(), &v.to_string()),
            },
            ColType::Int64 => {
                if let Some(s) = self.claim(field)
                    && let Col::Int64(b) = &mut self.b.cols[s]
                {
                    b.append_value(v);
                }
            }
            ColType::Float64 => return self.float(field, v as f64),
            _ => return self.str(field, &v.to_string()),
        }
        self
    }

    /// Set a float. Into a text column it is written as text.
    pub fn float(&mut self, field: Field, v: f64) -> &mut Self {
        match (self.b.class.slot(field), field.def().ty) {
            (Some(_), ColType::Float64) => {
                if let Some(s) = self.claim(field)
                    && let Col::Float64(b) = &mut self.b.cols[s]
                {
                    b.append_value(v);
                }
                self
            }
            _ => self.str(field, &v.to_string()),
        }
    }

    /// Set a boolean. Into a text column it is written `true` or `false`.
    pub fn bool(&mut self, field: Field, v: bool) -> &mut Self {
        match (self.b.class.slot(field), field.def().ty) {
            (Some(_), ColType::Bool) => {
                if let Some(s) = self.claim(field)
                    && let Col::Bool(b) = &mut self.b.cols[s]
                {
                    b.append_value(v);
                }
                self
            }
            _ => self.str(field, if v { "true" } else { "false" }),
        }
    }

    /// Set a time in microseconds since the Unix epoch (UTC).
    pub fn time_us(&mut self, field: Field, us: i64) -> &mut Self {
        match (self.b.class.slot(field), field.def().ty) {
            (Some(_), ColType::Timestamp) => {
                if let Some(s) = self.claim(field)
                    && let Col::Ts(b) = &mut self.b.cols[s]
                {
                    b.append_value(us);
                }
                self
            }
            _ => match DateTime::from_timestamp_micros(us) {
                Some(t) => self.str(field, &t.to_rfc3339()),
                None => self.int(field, us),
            },
        }
    }

    /// Set a time.
    pub fn time(&mut self, field: Field, t: DateTime<Utc>) -> &mut Self {
        self.time_us(field, t.timestamp_micros())
    }

    /// Set an address, written canonically: an IPv4-mapped IPv6 address
    /// becomes plain IPv4. Returns the parsed address. Text that is not an
    /// address (`-`, empty, a name) leaves the column null and is kept in
    /// `unmapped` under the column name unless it is `-` or empty.
    pub fn ip(&mut self, field: Field, v: &str) -> Option<IpAddr> {
        match parse_ip(v) {
            Some(ip) => {
                self.str(field, &ip.to_string());
                Some(ip)
            }
            None => {
                let t = v.trim();
                if !t.is_empty() && t != "-" {
                    self.unmapped(field.name(), v);
                }
                None
            }
        }
    }

    /// Keep a source field that has no column.
    pub fn unmapped(&mut self, key: &str, value: &str) -> &mut Self {
        self.b.bytes += key.len() + value.len();
        let s = self.b.unmapped_slot;
        if let Col::Map(m) = &mut self.b.cols[s] {
            m.keys().append_value(key);
            m.values().append_value(value);
        }
        self
    }

    /// Set `raw_data`, the original record.
    pub fn raw(&mut self, raw: &str) -> &mut Self {
        self.str(Field::RawData, raw)
    }

    /// Finish the row: unset columns become null. Dropping a row does the same.
    pub fn finish(mut self) {
        self.complete();
    }

    fn complete(&mut self) {
        if self.done {
            return;
        }
        self.done = true;
        let class = self.b.class;
        if let Some(s) = class.slot(Field::ClassUid)
            && !self.b.set[s]
        {
            self.int(Field::ClassUid, i64::from(class.uid()));
        }
        if !self.is_set(Field::CategoryUid) {
            self.int(Field::CategoryUid, i64::from(class.category_uid()));
        }
        self.fill_type_uid();
        let unmapped = self.b.unmapped_slot;
        for (i, col) in self.b.cols.iter_mut().enumerate() {
            if i == unmapped {
                if let Col::Map(m) = col {
                    let _ = m.append(true);
                }
            } else if !self.b.set[i] {
                col.append_null();
            }
        }
        self.b.rows += 1;
        debug_assert!(self.b.cols.iter().all(|c| c.len() == self.b.rows));
    }

    fn fill_type_uid(&mut self) {
        if self.is_set(Field::TypeUid) {
            return;
        }
        let activity = self.b.class.slot(Field::ActivityId).and_then(|s| {
            if !self.b.set[s] {
                return None;
            }
            match &self.b.cols[s] {
                Col::Int32(b) => b.values_slice().last().copied(),
                _ => None,
            }
        });
        if let Some(a) = activity {
            let uid = i64::from(self.b.class.uid()) * 100 + i64::from(a);
            self.int(Field::TypeUid, uid);
        }
    }
}

impl Drop for Row<'_> {
    fn drop(&mut self) {
        self.complete();
    }
}

/// Parse an address, turning IPv4-mapped IPv6 into IPv4 and dropping an
/// IPv6 zone (`fe80::1%eth0`) and brackets.
pub fn parse_ip(v: &str) -> Option<IpAddr> {
    let t = v.trim().trim_start_matches('[').trim_end_matches(']');
    let t = t.split('%').next().unwrap_or(t);
    let ip: IpAddr = t.parse().ok()?;
    Some(match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    })
}

/// Parse a decimal or `0x` hexadecimal integer.
pub fn parse_int(v: &str) -> Option<i64> {
    let t = v.trim();
    if let Some(hex) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        return i64::from_str_radix(hex, 16).ok();
    }
    t.parse::<i64>().ok().or_else(|| {
        let f = t.parse::<f64>().ok()?;
        (f.fract() == 0.0 && f.abs() < 9.0e15).then_some(f as i64)
    })
}

/// Parse `true`/`false`, `1`/`0`, `yes`/`no` in any case.
pub fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "t" | "y" => Some(true),
        "false" | "0" | "no" | "f" | "n" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A builder used again after `finish` (its buffers sized from the
    /// first batch) gives the next batch only its own rows, on the schema.
    #[test]
    fn next_batch_after_finish_holds_only_its_own_rows() {
        let mut b = BatchBuilder::new(Class::Authentication);
        for name in ["alice", "bob"] {
            let mut row = b.row();
            row.str(Field::UserName, name);
            row.unmapped("k", name);
            row.time_us(Field::Time, 1);
        }
        let first = b.finish();
        let mut row = b.row();
        row.str(Field::UserName, "carol");
        row.unmapped("k", "carol");
        row.unmapped("j", "x");
        row.finish();
        let second = b.finish();
        assert_eq!((first.num_rows(), second.num_rows()), (2, 1));
        assert_eq!(second.schema(), first.schema());
        let col = |name: &str| second.column_by_name(name).cloned().expect("column");
        assert_eq!(col("user_name").as_string::<i32>().value(0), "carol");
        let unmapped = col("unmapped");
        let m = unmapped.as_map();
        assert_eq!(m.value_length(0), 2);
        assert_eq!(m.keys().as_string::<i32>().value(1), "j");
        assert!(col("time").is_null(0));
    }
}
