#!/usr/bin/env bash
# `make fuzz`: every fuzz target (or those named) for FUZZ_SECONDS each, from the seed corpora
# (seeds.py) and whatever earlier runs added to fuzz/corpus; prints per target the executions,
# their rate, coverage, corpus size and findings, then a summary. Exits non-zero on any finding.
# Needs nightly Rust and cargo-fuzz (installed here from crates.io when missing).
set -euo pipefail
cd "$(dirname "$0")"
SECONDS_EACH=${FUZZ_SECONDS:-60}
TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then
  TARGETS=(canonical shopify woocommerce standard_webhooks platform_hmac link_tokens
           admin_query paging_cursor decide)
fi

rustup run nightly rustc --version >/dev/null 2>&1 || rustup toolchain install nightly --profile minimal
cargo +nightly fuzz --version >/dev/null 2>&1 || cargo install cargo-fuzz --locked
python3 seeds.py corpus
# One build of every target, with sanitizer instrumentation, into fuzz/target.
cargo +nightly fuzz build

mkdir -p logs
start=$(mktemp); trap 'rm -f "$start"' EXIT
summary=()
failed=0
for t in "${TARGETS[@]}"; do
  mkdir -p "corpus/$t" "artifacts/$t"
  log="logs/$t.log"
  status=0
  # -timeout: one input may take at most 10 s (a hang is a finding); -rss_limit_mb: 2 GB.
  cargo +nightly fuzz run "$t" "corpus/$t" -- -max_total_time="$SECONDS_EACH" \
    -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 >"$log" 2>&1 || status=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1 | tr -d ':')
  corpus=$(find "corpus/$t" -type f | wc -l)
  findings=$(find "artifacts/$t" -type f -newer "$start" | wc -l)
  if [ "$status" -ne 0 ] && [ "$findings" -eq 0 ]; then findings=1; fi  # a failure without an artifact
  line=$(printf '%-18s %10s execs %7s/s  %-18s corpus %5s  findings %s' \
    "$t" "${execs:-?}" "${rate:-?}" "${cov:-cov ? ft ?}" "$corpus" "$findings")
  echo "$line"
  summary+=("$line")
  if [ "$findings" -ne 0 ]; then
    failed=$((failed + 1))
    grep -m1 -A4 'panicked at\|ERROR: libFuzzer\|ERROR: AddressSanitizer' "$log" | sed 's/^/    /' || true
    find "artifacts/$t" -type f -newer "$start" | while read -r f; do
      echo "    reproduce: cargo +nightly fuzz run $t fuzz/$f   (log: fuzz/$log)"
    done
  fi
done

echo
echo "fuzz: ${#TARGETS[@]} targets, ${SECONDS_EACH} s each"
printf '  %s\n' "${summary[@]}"
if [ "$failed" -ne 0 ]; then
  echo "fuzz: FINDINGS in $failed target(s): each becomes a regression test and a fix (README, Fuzzing)"
  exit 1
fi
echo "fuzz: no findings"
