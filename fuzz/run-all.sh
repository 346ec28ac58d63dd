#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 600) one after the other, then minimises its
# corpus. Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`).
# A crash stops its target and is left in artifacts/TARGET/ (turn it into a regression test).
set -uo pipefail
cd "$(dirname "$0")"
secs="${1:-600}"
for t in hl7v2_oru mllp csv_mappings csv_results csv_loinc fhir_bundle; do
    echo "== $t: ${secs}s"
    cargo +nightly fuzz run "$t" -O -- -max_total_time="$secs" -max_len=65536 -timeout=10 \
        -rss_limit_mb=4096 -print_final_stats=1 2>&1 | tail -n 25
    cargo +nightly fuzz cmin "$t" -O -- -max_len=65536 2>&1 | tail -n 2
done
