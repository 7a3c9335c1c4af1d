//! Typed, by-name access to the columns of a class batch.
//!
//! Detectors other than Sigma read a handful of columns row by row. A
//! column a batch lacks reads as null everywhere, so a detector written for
//! one class degrades to "no value" on another instead of failing.

use arrow::array::{
    Array, AsArray, BooleanArray, Float64Array, Int32Array, Int64Array, MapArray, StringArray,
};
use arrow::datatypes::TimestampMicrosecondType;
use arrow_array::{PrimitiveArray, RecordBatch};

/// A text column, or nothing.
#[derive(Clone, Copy)]
pub(crate) struct Text<'b>(Option<&'b StringArray>);

impl<'b> Text<'b> {
    pub(crate) fn new(batch: &'b RecordBatch, name: &str) -> Text<'b> {
        Text(
            batch
                .column_by_name(name)
                .and_then(|c| c.as_string_opt::<i32>()),
        )
    }

    /// The value at `row`, with empty strings and `-` read as null.
    pub(crate) fn get(&self, row: usize) -> Option<&'b str> {
        let c = self.0?;
        if c.is_null(row) {
            return None;
        }
        let v = c.value(row).trim();
        (!v.is_empty() && v != "-").then_some(v)
    }
}

/// An integer column (Int32 or Int64), or nothing.
#[derive(Clone, Copy)]
pub(crate) enum Int<'b> {
    I32(&'b Int32Array),
    I64(&'b Int64Array),
    None,
}

impl<'b> Int<'b> {
    pub(crate) fn new(batch: &'b RecordBatch, name: &str) -> Int<'b> {
        let Some(c) = batch.column_by_name(name) else {
            return Int::None;
        };
        if let Some(a) = c.as_primitive_opt::<arrow::datatypes::Int32Type>() {
            return Int::I32(a);
        }
        if let Some(a) = c.as_primitive_opt::<arrow::datatypes::Int64Type>() {
            return Int::I64(a);
        }
        Int::None
    }

    pub(crate) fn get(&self, row: usize) -> Option<i64> {
        match self {
            Int::I32(a) => a.is_valid(row).then(|| i64::from(a.value(row))),
            Int::I64(a) => a.is_valid(row).then(|| a.value(row)),
            Int::None => None,
        }
    }
}

/// A float column, or nothing.
#[derive(Clone, Copy)]
pub(crate) struct Float<'b>(Option<&'b Float64Array>);

impl<'b> Float<'b> {
    pub(crate) fn new(batch: &'b RecordBatch, name: &str) -> Float<'b> {
        Float(
            batch
                .column_by_name(name)
                .and_then(|c| c.as_primitive_opt::<arrow::datatypes::Float64Type>()),
        )
    }

    pub(crate) fn get(&self, row: usize) -> Option<f64> {
        self.0
            .filter(|a| a.is_valid(row))
            .map(|a| a.value(row))
            .filter(|v| v.is_finite())
    }
}

/// A boolean column, or nothing.
#[derive(Clone, Copy)]
pub(crate) struct Bool<'b>(Option<&'b BooleanArray>);

impl<'b> Bool<'b> {
    pub(crate) fn new(batch: &'b RecordBatch, name: &str) -> Bool<'b> {
        Bool(batch.column_by_name(name).and_then(|c| c.as_boolean_opt()))
    }

    pub(crate) fn get(&self, row: usize) -> Option<bool> {
        self.0.filter(|a| a.is_valid(row)).map(|a| a.value(row))
    }
}

/// A timestamp column in microseconds, or nothing.
#[derive(Clone, Copy)]
pub(crate) struct Time<'b>(Option<&'b PrimitiveArray<TimestampMicrosecondType>>);

impl<'b> Time<'b> {
    pub(crate) fn new(batch: &'b RecordBatch, name: &str) -> Time<'b> {
        Time(
            batch
                .column_by_name(name)
                .and_then(|c| c.as_primitive_opt::<TimestampMicrosecondType>()),
        )
    }

    pub(crate) fn get(&self, row: usize) -> Option<i64> {
        self.0.filter(|a| a.is_valid(row)).map(|a| a.value(row))
    }

    /// The latest time in the column.
    pub(crate) fn max(&self) -> Option<i64> {
        self.0.and_then(arrow::compute::max)
    }
}

/// The `unmapped` map, looked up by key per row.
#[derive(Clone, Copy)]
pub(crate) struct Unmapped<'b> {
    map: Option<&'b MapArray>,
}

impl<'b> Unmapped<'b> {
    pub(crate) fn new(batch: &'b RecordBatch) -> Unmapped<'b> {
        Unmapped {
            map: batch
                .column_by_name("unmapped")
                .and_then(|c| c.as_map_opt()),
        }
    }

    /// The value of `key` (exact, case-sensitive) at `row`.
    pub(crate) fn get(&self, row: usize, key: &str) -> Option<&'b str> {
        let map = self.map?;
        if map.is_null(row) {
            return None;
        }
        let keys = map.keys().as_string_opt::<i32>()?;
        let values = map.values().as_string_opt::<i32>()?;
        let offsets = map.value_offsets();
        let (start, end) = (offsets[row] as usize, offsets[row + 1] as usize);
        (start..end)
            .find(|&i| keys.value(i) == key)
            .filter(|&i| values.is_valid(i))
            .map(|i| values.value(i).trim())
            .filter(|v| !v.is_empty() && *v != "-")
    }
}
