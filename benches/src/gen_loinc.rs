//! `gen-loinc [ROWS] [OUT]`: writes a synthetic `Loinc.csv` in the official column layout
//! (default 100,000 rows, to stdout), for `huren import codes --format loinc` at scale.
//!
//! `cargo run --release -p huren-benches --bin gen-loinc -- 100000 /tmp/Loinc.csv`

use anyhow::Context;
use std::io::BufWriter;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let rows: usize = match args.next() {
        Some(n) => n
            .parse()
            .with_context(|| format!("ROWS must be a number, not `{n}`"))?,
        None => 100_000,
    };
    match args.next() {
        Some(path) => {
            let file =
                std::fs::File::create(&path).with_context(|| format!("cannot create {path}"))?;
            huren_testkit::loinc_table::write_loinc_csv(BufWriter::new(file), rows)
                .with_context(|| format!("writing {path}"))?;
        }
        None => {
            let stdout = std::io::stdout().lock();
            huren_testkit::loinc_table::write_loinc_csv(BufWriter::new(stdout), rows)
                .context("writing to stdout")?;
        }
    }
    Ok(())
}
