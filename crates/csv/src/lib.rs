//! Every CSV format huren reads or writes, with row-level reports.
//!
//! Curators' files come from Excel: UTF-8 with or without a BOM, GBK/GB18030, sometimes
//! semicolon-separated. [`decode`] turns any of those into text, and each format module turns
//! text into domain values plus a list of every problem with its line and column.
//!
//! Architecture invariant: parsing never stops at the first bad row, and never writes anything:
//! callers decide what to store from the complete report.

pub mod candidates;
pub mod code_table;
pub mod hospitals;
pub mod intervals;
pub mod mapping;
pub mod quality;
pub mod recognition;
pub mod results;
pub mod text;

pub use code_table::{CodeTable, CodeTableFormat, parse_code_table};
pub use mapping::{MAPPING_COLUMNS, ParsedMappings, parse_mappings, write_mappings};
pub use quality::{EqaRow, IqcRow, parse_eqa, parse_iqc};
pub use recognition::{CatalogueRow, ItemRef, TeaRow, parse_allowable_error, parse_catalogue};
pub use results::{RESULT_COLUMNS, ResultsError, ResultsOptions, parse_results};
pub use text::{Decoded, count_rows, decode};

/// Failures that make a whole file unreadable (as opposed to row problems, which are values).
#[derive(Debug, thiserror::Error)]
pub enum CsvError {
    #[error("the file is neither UTF-8 nor GB18030/GBK text")]
    Encoding,
    #[error("the file is empty")]
    Empty,
}
