#!/usr/bin/env bash
# Runs the Swift fuzz targets (built by `make fuzz-build` into Fuzz/.build/release) for SECONDS each, from a copy
# of their seed corpora (Fixtures/fuzz/<target>/; new inputs stay in the work directory, never in Fixtures), after
# replaying every input that ever crashed a target (Fixtures/fuzz/crashes/<target>/).
#   scripts/fuzz.sh SECONDS [TARGET ...]      (default: every target)
# Limits per target: inputs up to 64 KiB, 10 s per input, 2 GiB of memory in all, 512 MiB in one allocation.
# Prints one line per target (executions, coverage, findings) and exits 1 on any finding (crash, timeout,
# memory blow-up, property violated), naming the file that holds the input.
set -u
cd "$(dirname "$0")/.."
seconds=${1:-180}; shift || true
bin=Fuzz/.build/release
work=${FUZZ_WORK:-.build-fuzz-runs}
all=(frame occupancy cayenne json semtech tts chirpstack session-log pcap channel-scenario fleet-scenario plan profile
     keys stimuli units at-lines semtech-udp)
targets=("$@"); ((${#targets[@]})) || targets=("${all[@]}")
mkdir -p "$work"
failed=0
for t in "${targets[@]}"; do
  exe="$bin/fuzz-$t"
  [ -x "$exe" ] || { echo "fuzz: $exe is not built; run 'make fuzz-build'" >&2; exit 2; }
  log="$work/$t.log"
  # Regression inputs: each once, in one run.
  crashes=(Fixtures/fuzz/crashes/$t/*)
  if [ -e "${crashes[0]}" ]; then
    if ! LORAHARNESS_ROOT=$PWD SWIFT_BACKTRACE=enable=no "$exe" -rss_limit_mb=2048 -malloc_limit_mb=512 -timeout=10 "${crashes[@]}" >"$work/$t.replay.log" 2>&1; then
      echo "fuzz-$t: a kept regression input fails again; see $work/$t.replay.log" >&2
      tail -n 20 "$work/$t.replay.log" >&2
      failed=1; continue
    fi
  fi
  corpus="$work/corpus-$t"
  rm -rf "$corpus"; mkdir -p "$corpus" "$work/findings"
  cp Fixtures/fuzz/$t/* "$corpus"/ 2>/dev/null
  dict=(); [ -f "Fixtures/fuzz/$t.dict" ] && dict=(-dict="Fixtures/fuzz/$t.dict")
  LORAHARNESS_ROOT=$PWD SWIFT_BACKTRACE=enable=no "$exe" -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=512 \
    -print_final_stats=1 -artifact_prefix="$work/findings/$t-" "${dict[@]}" "$corpus" >"$log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
  finding=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
  # A target built without coverage instrumentation fuzzes blind: that is a failed run, not a pass.
  if grep -q "Is the code instrumented for coverage" "$log" || [ -z "$cov" ]; then
    echo "fuzz-$t: NOT INSTRUMENTED for coverage (no 'cov:' in $log); rebuild with 'make fuzz-build'"
    failed=1; continue
  fi
  if [ $rc -ne 0 ] || [ -n "$finding" ]; then
    echo "fuzz-$t: ${execs:-?} execs, cov ${cov:-?}, FINDING: ${finding:-exit $rc} (log: $log)"
    grep -m 3 -E 'ERROR|property violated|Fatal error|SUMMARY' "$log" | sed 's/^/  /'
    failed=1
  else
    echo "fuzz-$t: ${execs:-?} execs, cov ${cov:-?}, 0 findings in ${seconds} s"
  fi
done
exit $failed
