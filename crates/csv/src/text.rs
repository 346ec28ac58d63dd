//! Decoding files from Excel: UTF-8 (with or without BOM), UTF-16 with BOM, and GB18030/GBK,
//! through `encoding_rs` (the encoding library of Firefox) rather than hand-written tables.

use crate::CsvError;
use std::borrow::Cow;

/// A decoded file: its text, the encoding it was in, and the field delimiter it uses.
#[derive(Debug)]
pub struct Decoded<'a> {
    pub text: Cow<'a, str>,
    /// `UTF-8`, `UTF-16LE`, `UTF-16BE` or `gb18030`.
    pub encoding: &'static str,
    pub delimiter: u8,
}

impl Decoded<'_> {
    /// A CSV reader over the text, with the sniffed delimiter; rows may differ in length (a
    /// short row is read and its missing cells reported, not refused whole).
    pub(crate) fn reader(&self) -> csv::Reader<&[u8]> {
        csv::ReaderBuilder::new()
            .delimiter(self.delimiter)
            .flexible(true)
            .from_reader(self.text.as_bytes())
    }
}

/// How many data rows (records after the header) a CSV file has, in any encoding and with any
/// delimiter [`decode`] reads; quoted fields may hold line breaks. One pass without keeping
/// the rows: what a server checks against its limit before it parses a file for real. The
/// count stops at a record the reader cannot read (counted): the real parse reports it.
pub fn count_rows(bytes: &[u8]) -> Result<usize, CsvError> {
    let decoded = decode(bytes)?;
    let mut reader = decoded.reader();
    let mut record = csv::ByteRecord::new();
    let mut rows = 0;
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(true) => rows += 1,
            Ok(false) => return Ok(rows),
            Err(_) => return Ok(rows + 1),
        }
    }
}

/// Decodes `bytes` and sniffs the delimiter from the header line.
///
/// UTF-8 is tried first because a GBK file is almost never valid UTF-8, while ASCII-only files
/// are both. Anything that is not UTF-8 is decoded as GB18030, the superset of GBK that Chinese
/// Excel writes; a file that is not valid GB18030 either is refused rather than guessed.
pub fn decode(bytes: &[u8]) -> Result<Decoded<'_>, CsvError> {
    if bytes.is_empty() {
        return Err(CsvError::Empty);
    }
    let (text, encoding): (Cow<'_, str>, &'static str) =
        if let Some((enc, bom_len)) = encoding_rs::Encoding::for_bom(bytes) {
            let (text, had_errors) = enc.decode_without_bom_handling(&bytes[bom_len..]);
            if had_errors {
                return Err(CsvError::Encoding);
            }
            (text, enc.name())
        } else if let Ok(s) = std::str::from_utf8(bytes) {
            (Cow::Borrowed(s), "UTF-8")
        } else {
            let (text, had_errors) = encoding_rs::GB18030.decode_without_bom_handling(bytes);
            if had_errors {
                return Err(CsvError::Encoding);
            }
            (text, "gb18030")
        };
    let delimiter = sniff_delimiter(&text);
    Ok(Decoded {
        text,
        encoding,
        delimiter,
    })
}

/// Picks `;` or a tab when the header line has more of them than commas (Excel in locales
/// whose decimal separator is a comma writes `;`; "Unicode text" is tab-separated).
fn sniff_delimiter(text: &str) -> u8 {
    let header = text.lines().next().unwrap_or("");
    let count = |c: char| header.matches(c).count();
    let (commas, semis, tabs) = (count(','), count(';'), count('\t'));
    if tabs > commas && tabs >= semis {
        b'\t'
    } else if semis > commas {
        b';'
    } else {
        b','
    }
}

/// Splits a `|`-separated list cell into trimmed, non-empty items.
pub fn split_list(cell: &str) -> Vec<String> {
    cell.split('|')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Reads every record of `reader`, which reads `text`, calling `each(line, record, problems)`
/// for each one that is not blank, and `progress` with the bytes read every 1,000 records. An
/// unreadable record (a broken quote) is reported with its line and ends the reading, since
/// everything after it is unreliable.
///
/// `line` is the physical line the record starts on (see [`start_line`]).
pub(crate) fn each_record<R: std::io::Read>(
    text: &str,
    reader: &mut csv::Reader<R>,
    problems: &mut Vec<huren_core::registry::RowProblem>,
    progress: &mut dyn FnMut(u64),
    mut each: impl FnMut(u64, &csv::StringRecord, &mut Vec<huren_core::registry::RowProblem>),
) {
    let mut record = csv::StringRecord::new();
    let mut read = 0u64;
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map_or(0, |p| start_line(text, p));
                problems.push(huren_core::registry::RowProblem::new(
                    line,
                    None,
                    format!("unreadable row: {e}"),
                ));
                break;
            }
        }
        read += 1;
        if read.is_multiple_of(1000) {
            progress(record.position().map_or(0, |p| p.byte()));
        }
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let line = record.position().map_or(0, |p| start_line(text, p));
        each(line, &record, problems);
    }
}

/// The columns of a file, found by header name (trimmed, lower-cased).
pub(crate) struct Columns(Vec<String>);

impl Columns {
    /// Reads the header of `reader`. Every column of `required` that is missing, or an
    /// unreadable header, is a line-1 problem, and then `None` is returned: no row can be read.
    pub(crate) fn read<R: std::io::Read>(
        reader: &mut csv::Reader<R>,
        required: &[&str],
        problems: &mut Vec<huren_core::registry::RowProblem>,
    ) -> Option<Columns> {
        let columns = match reader.headers() {
            Ok(h) => Columns(h.iter().map(|s| s.trim().to_lowercase()).collect()),
            Err(e) => {
                problems.push(huren_core::registry::RowProblem::new(
                    1,
                    None,
                    format!("unreadable header: {e}"),
                ));
                return None;
            }
        };
        let before = problems.len();
        for name in required {
            if columns.index(name).is_none() {
                problems.push(huren_core::registry::RowProblem::new(
                    1,
                    None,
                    format!("missing column `{name}`"),
                ));
            }
        }
        (problems.len() == before).then_some(columns)
    }

    pub(crate) fn index(&self, name: &str) -> Option<usize> {
        self.0.iter().position(|h| h == name)
    }

    /// The trimmed cell of column `name` in `record`, or `""` when the column or cell is absent.
    pub(crate) fn cell<'r>(&self, record: &'r csv::StringRecord, name: &str) -> &'r str {
        self.index(name)
            .and_then(|i| record.get(i))
            .map_or("", str::trim)
    }
}

/// The line a record starts on. The `csv` reader records a record's position before it skips
/// the line breaks left over from the previous record: the `\n` of a `\r\n` (every Excel
/// file) and blank lines. Its position then names the line before, so the breaks are skipped
/// here, from the position's byte in `text`.
fn start_line(text: &str, position: &csv::Position) -> u64 {
    let start = usize::try_from(position.byte()).unwrap_or(usize::MAX);
    let breaks = text
        .as_bytes()
        .get(start..)
        .unwrap_or_default()
        .iter()
        .take_while(|&&b| b == b'\r' || b == b'\n')
        .filter(|&&b| b == b'\n')
        .count();
    position.line() + breaks as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_with_and_without_bom() {
        let d = decode("code,name\n1,葡萄糖\n".as_bytes()).unwrap();
        assert_eq!((d.encoding, d.delimiter), ("UTF-8", b','));
        assert!(d.text.starts_with("code"));
        let with_bom = [&[0xEF, 0xBB, 0xBF][..], "code,name\n".as_bytes()].concat();
        let d = decode(&with_bom).unwrap();
        assert_eq!(d.encoding, "UTF-8");
        assert!(d.text.starts_with("code"), "BOM must be stripped");
    }

    #[test]
    fn gbk_is_decoded() {
        let (bytes, _, _) = encoding_rs::GBK.encode("code;name\n1;葡萄糖\n");
        assert!(std::str::from_utf8(&bytes).is_err());
        let d = decode(&bytes).unwrap();
        assert_eq!((d.encoding, d.delimiter), ("gb18030", b';'));
        assert!(d.text.contains("葡萄糖"));
    }

    #[test]
    fn utf16_with_bom() {
        let mut bytes = vec![0xFF, 0xFE];
        for u in "a\tb\n".encode_utf16() {
            bytes.extend_from_slice(&u.to_le_bytes());
        }
        let d = decode(&bytes).unwrap();
        assert_eq!((d.encoding, d.delimiter), ("UTF-16LE", b'\t'));
    }

    #[test]
    fn garbage_is_refused() {
        assert!(matches!(
            decode(&[0x81, 0x20, 0xFF]),
            Err(CsvError::Encoding)
        ));
        assert!(matches!(decode(&[]), Err(CsvError::Empty)));
    }

    /// Lines of the records of `text` (header first) as [`each_record`] reports them.
    fn lines(text: &str) -> Vec<u64> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes());
        let mut lines = Vec::new();
        each_record(
            text,
            &mut reader,
            &mut Vec::new(),
            &mut |_| {},
            |line, _, _| lines.push(line),
        );
        lines
    }

    #[test]
    fn records_are_numbered_by_their_first_line() {
        assert_eq!(lines("h\na\nb\n"), [1, 2, 3]);
        assert_eq!(lines("h\r\na\r\nb\r\n"), [1, 2, 3], "Excel's CRLF");
        assert_eq!(lines("h\n\na\nb\n\n\nc\n"), [1, 3, 4, 7], "blank lines");
        assert_eq!(lines("h\r\n\r\na\r\n\r\nb"), [1, 3, 5]);
        assert_eq!(
            lines("h\n\"a\nx\"\n\nb\n"),
            [1, 2, 5],
            "a quoted line break"
        );
        assert_eq!(lines("h\r\n\"a\r\nx\"\r\nb\r\n"), [1, 2, 4]);
        assert_eq!(
            lines("\n\nh\n,\na\n"),
            [3, 5],
            "wholly empty rows are skipped"
        );
    }

    #[test]
    fn lists() {
        assert_eq!(split_list(" GLU | Glu||"), vec!["GLU", "Glu"]);
        assert!(split_list("").is_empty());
    }

    #[test]
    fn rows_are_counted_without_the_header_and_across_quoted_line_breaks() {
        assert_eq!(count_rows(b"a,b\n1,2\n3,\"x\ny\"\n").unwrap(), 2);
        assert_eq!(count_rows(b"a;b\r\n1;2\r\n").unwrap(), 1);
        assert_eq!(count_rows(b"a,b\n").unwrap(), 0);
        // GBK: the same count as its UTF-8 text.
        let (gbk, _, _) = encoding_rs::GBK.encode("名称,单位\n葡萄糖,mmol/L\n钾,mmol/L\n");
        assert_eq!(count_rows(&gbk).unwrap(), 2);
    }
}
