//! A synthetic curator's mapping CSV of any size, for the import bench: every row maps a local
//! code to one of the given national targets, in the target's canonical unit or a mass/molar
//! alias of it, with a reference range; one row in fifty is unmapped. Written in UTF-8 with a
//! BOM and CRLF line ends, as Excel saves "CSV UTF-8".

use std::io::{self, Write};

/// One national target: code, canonical UCUM unit, Chinese name.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    pub code: &'a str,
    pub unit: &'a str,
    pub name_zh: &'a str,
}

/// Writes `rows` mapping rows (plus the header) spread over `targets`.
pub fn write_mapping_csv(
    mut out: impl Write,
    rows: usize,
    targets: &[Target<'_>],
) -> io::Result<()> {
    assert!(!targets.is_empty(), "at least one target");
    out.write_all("\u{feff}".as_bytes())?;
    out.write_all(
        b"local_code,local_name,specimen,unit,national_code,loinc,ref_low,ref_high,ref_text,method,note\r\n",
    )?;
    for i in 0..rows {
        let t = targets[i % targets.len()];
        let (code, unit) = if i % 50 == 49 {
            ("", "")
        } else {
            (t.code, t.unit)
        };
        let low = (i % 7) as f64 + 0.5;
        writeln!(
            out,
            "L{i:06},\"{} {}\",,{unit},{code},,{low},{},,,\"bench row {i}\"\r",
            t.name_zh,
            i / targets.len(),
            low + 10.0,
        )?;
    }
    out.flush()
}

/// The synthetic mapping CSV as bytes.
pub fn mapping_csv(rows: usize, targets: &[Target<'_>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(rows * 80);
    write_mapping_csv(&mut out, rows, targets).expect("writing to memory cannot fail");
    out
}
