#!/bin/sh
# demo.sh - install the dependencies, build, and run schematic-streamd
# against the bundled fake datastream (tests/fake-datastream --demo), with a
# reader printing the live stream. Ctrl-C stops everything.
# DEMO_SECONDS=N stops it after N seconds.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
sh "$top/tests/install-deps.sh"
sh "$top/tests/build.sh"

dir=$(mktemp -d /tmp/streamd-demo-XXXXXX)
pids=""
cleanup() {
	trap - EXIT INT TERM
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'cleanup; exit 0' INT TERM

/usr/bin/python3 "$top/tests/fake-datastream" --listen 127.0.0.1:0 \
	--port-file "$dir/port" --demo --flags 4 --quiet &
pids="$pids $!"
while [ ! -s "$dir/port" ]; do sleep 0.1; done
port=$(cat "$dir/port")

echo "== fake datastream on 127.0.0.1:$port; daemon log in $dir/streamd.log"
: >"$dir/empty.conf"
SCHEMATIC_API_KEY=demo-key "$top/src/schematic-streamd" -c "$dir/empty.conf" \
	--url "http://127.0.0.1:$port" --stream-socket "$dir/stream.sock" \
	--control-socket "$dir/control.sock" 2>"$dir/streamd.log" &
pids="$pids $!"
while [ ! -S "$dir/stream.sock" ]; do sleep 0.1; done

ctl="$top/src/schematic-streamctl -s $dir/control.sock"
echo "== in another terminal: $ctl status"
echo "== live stream (schematic-streamctl tail: one JSON message per line):"
if [ -n "${DEMO_SECONDS:-}" ]; then
	timeout "$DEMO_SECONDS" $ctl tail -S "$dir/stream.sock" || true
else
	$ctl tail -S "$dir/stream.sock" || true
fi
echo "== schematic-streamctl status:"
$ctl status || true
echo "== daemon log:"
cat "$dir/streamd.log"
