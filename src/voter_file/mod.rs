//! The voter file as rules: which columns a CSV of people has, how one row is read and
//! checked, and how a line is read without ever holding more than the longest allowed
//! row. Pure: no database; the import (`crate::import`) drives it and stores the rows.

pub mod bounded;
pub mod row;
