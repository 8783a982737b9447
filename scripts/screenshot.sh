#!/usr/bin/env bash
# Renders DIR/index.html (a hookstorm report) in headless Chromium, writes
# DIR/screenshot.png, and fails when the page logs a JavaScript error or
# its DOM lacks the checks table or the <svg> charts.
#
#   scripts/screenshot.sh hookstorm-report
#
# Needs /usr/bin/chromium (Debian/Ubuntu: apt-get install -y chromium), or
# set CHROMIUM=/path/to/chrome. Exit 0 ok, 1 page problem, 2 usage.
set -euo pipefail

dir=${1:-}
if [[ -z "$dir" || ! -f "$dir/index.html" ]]; then
  echo "usage: $0 DIR   (DIR/index.html must exist)" >&2
  exit 2
fi
chromium=${CHROMIUM:-/usr/bin/chromium}
if [[ ! -x "$chromium" ]]; then
  echo "error: $chromium not found (apt-get install -y chromium)" >&2
  exit 2
fi
dir=$(cd "$dir" && pwd)
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
  --disable-background-networking --disable-component-update --disable-sync
  --user-data-dir="$profile" --enable-logging=stderr --v=0)

# 1. The screenshot, with the console captured from the browser's log.
timeout 60 "$chromium" "${flags[@]}" --screenshot="$dir/screenshot.png" \
  --window-size=1280,2000 "file://$dir/index.html" >"$profile/shot.out" 2>"$profile/shot.log" || true
# 2. The DOM after scripts ran.
timeout 60 "$chromium" "${flags[@]}" --dump-dom "file://$dir/index.html" \
  >"$dir/dom.html" 2>"$profile/dom.log" || true

status=0
if [[ ! -s "$dir/screenshot.png" ]]; then
  echo "FAIL: no screenshot written" >&2
  status=1
fi
# Console messages from the page are logged as `CONSOLE(...)` lines;
# uncaught exceptions as `Uncaught ...`.
if grep -hE 'Uncaught|CONSOLE.*(Error|error)' "$profile/shot.log" "$profile/dom.log" >"$profile/errors"; then
  echo "FAIL: the page logged errors:" >&2
  cat "$profile/errors" >&2
  status=1
fi
if ! grep -q '<table' "$dir/dom.html"; then
  echo "FAIL: no <table> (checks/per-type table) in the rendered DOM" >&2
  status=1
fi
svgs=$(grep -o '<svg' "$dir/dom.html" | wc -l)
if [[ "$svgs" -lt 1 ]]; then
  echo "FAIL: no <svg> chart in the rendered DOM" >&2
  status=1
fi
if [[ $status -eq 0 ]]; then
  echo "ok: $dir/screenshot.png ($(wc -c <"$dir/screenshot.png") bytes, $svgs svg charts, no console errors)"
fi
exit $status
