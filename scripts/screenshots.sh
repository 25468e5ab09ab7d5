#!/usr/bin/env bash
# The README's screenshots of the HTML reports: each command's --html on bundled inputs, rendered by headless
# Chromium (the same step the tests take). Run from the repository root after a build: `make screenshots`.
set -euo pipefail
BIN=${BIN:-.build/debug/loraharness}
out=$(mktemp -d)
trap 'rm -rf "$out"; kill $(jobs -p) 2>/dev/null || true' EXIT
shoot() { chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size="$2" --screenshot="$3" "file://$1" >/dev/null 2>&1; }
"$BIN" simulate Fixtures/scenarios/lorient.yaml --html "$out/fleet.html" --quiet || true
shoot "$out/fleet.html" 1000,1300 docs/report-fleet.png
"$BIN" replay Fixtures/traces/tts-uplinks.ndjson --keys Fixtures/traces/keys.yaml --sites Fixtures/traces/sites.csv --html "$out/replay.html" --quiet 2>/dev/null
shoot "$out/replay.html" 1000,1100 docs/report-replay.png
"$BIN" simulate Fixtures/scenarios/small-site.yaml --html "$out/channel.html" --quiet
shoot "$out/channel.html" 1000,1100 docs/report-channel.png
ports=()
for eui in 70B3D57ED0003001 70B3D57ED0003002; do
  "$BIN" emulate --profile occupancy-rak3172 --time-scale 100 --duration 30s --dev-eui "$eui" > "$out/$eui" 2>/dev/null &
done
"$BIN" emulate --profile occupancy-rak3172 --kind gate --time-scale 100 --duration 30s --dev-eui 70B3D57ED0003003 > "$out/gate" 2>/dev/null &
sleep 1
for f in "$out"/70B3D57ED0003001 "$out"/70B3D57ED0003002 "$out"/gate; do ports+=(--port "$(head -1 "$f")"); done
"$BIN" flash-test "${ports[@]}" --plan occupancy-bay --time-scale 100 --html "$out/flash.html" --quiet || true
shoot "$out/flash.html" 1000,1100 docs/report-flash-test.png
ls -l docs/report-*.png
