#!/usr/bin/env bash
# Runs a command with one moto server on a free loopback port (TROUW_AWS_ENDPOINT), and stops
# the server afterwards, whatever the command's outcome. `make test` runs the suite in it so
# that all test processes share one emulator, each test with its own table.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
port_file="$(mktemp)"
rm -f "$port_file"
"$root/.venv/bin/python" "$root/infra/local/moto_server.py" --port 0 --port-file "$port_file" --parent-pid $$ --quiet &
moto_pid=$!
trap 'kill "$moto_pid" 2>/dev/null || true; rm -f "$port_file"' EXIT
for _ in $(seq 1 600); do
  [ -s "$port_file" ] && break
  kill -0 "$moto_pid" 2>/dev/null || { echo "moto failed to start" >&2; exit 1; }
  sleep 0.1
done
[ -s "$port_file" ] || { echo "moto did not start within 60 s" >&2; exit 1; }
export TROUW_AWS_ENDPOINT="http://127.0.0.1:$(cat "$port_file")"
echo "moto on $TROUW_AWS_ENDPOINT" >&2
"$@"
