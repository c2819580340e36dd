#!/usr/bin/env bash
# Reproduces the figures of docs/performance.md:
#   1. import N people (default 1,000,000) from a generated CSV into SQLite:
#      seconds, rows/s, peak resident memory (/usr/bin/time -v);
#      optionally (KILL9=1) kill -9 the import half way and resume it;
#      optionally (FLOOR=1) the same SQLite work without Pivand, in the
#      pure-Go and the C SQLite (bench/sqlfloor; C needs the sqlite3 command);
#   2. export them all as CSV;
#   3. GET one contact by id over HTTP against a real `pivand serve`:
#      req/s and latency percentiles (bench/httpload, loopback only);
#   4. search: through the service (bench/searchbench) and over HTTP;
#   5. resident memory of the server: idle, and after the load.
#
# Usage: bench/run.sh            (N=1000000 WORK=/tmp/pivand-bench.XXXX PORT=18080 KILL9=0 FLOOR=0)
# Everything is written under $WORK; nothing outside it is touched.
set -euo pipefail

N=${N:-1000000}
PORT=${PORT:-18080}
KILL9=${KILL9:-0}
FLOOR=${FLOOR:-0}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${WORK:-$(mktemp -d /tmp/pivand-bench.XXXXXX)}
BIN=$WORK/bin
DATA=$WORK/data
CSV=$WORK/people-$N.csv
mkdir -p "$BIN"

say() { printf '\n== %s\n' "$*"; }
rss() { awk -v k="$2:" '$1==k {printf "%.0f MiB", $2/1024}' "/proc/$1/status"; }

say "machine"
grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'
echo "$(nproc) cores, $(free -m | awk '/Mem:/ {print $2}') MiB RAM, load $(cut -d' ' -f1-3 /proc/loadavg)"
go version

say "build"
(cd "$ROOT" && go build -o "$BIN/pivand" ./cmd/pivand && go build -o "$BIN/gencsv" ./bench/gencsv &&
	go build -o "$BIN/httpload" ./bench/httpload && go build -o "$BIN/searchbench" ./bench/searchbench &&
	go build -o "$BIN/sqlfloor" ./bench/sqlfloor)

say "generate $N people as CSV"
[ -f "$CSV" ] || "$BIN/gencsv" -n "$N" -seed 1 -out "$CSV"
ls -l "$CSV"

say "import $N people into SQLite"
rm -rf "$DATA"
if [ "$KILL9" = 1 ]; then
	"$BIN/pivand" import contacts --quiet --data "$DATA" "$CSV" > "$WORK/import-killed.txt" 2>&1 &
	pid=$!
	sleep 30
	kill -9 "$pid" || true
	wait "$pid" 2> /dev/null || true
	echo "killed the import with -9 after 30s; running the same command again resumes it:"
fi
/usr/bin/time -v "$BIN/pivand" import contacts --quiet --data "$DATA" "$CSV" > "$WORK/import.txt" 2> "$WORK/import-time.txt" ||
	{ cat "$WORK/import.txt" "$WORK/import-time.txt"; exit 1; }
cat "$WORK/import.txt"
grep -E 'Resuming' "$WORK/import-time.txt" || true
grep -E 'Elapsed|Maximum resident|User time|System time' "$WORK/import-time.txt"
ls -l "$DATA"

if [ "$FLOOR" = 1 ]; then
	say "the import's SQLite work alone (bench/sqlfloor)"
	"$BIN/sqlfloor" -from "$DATA/pivand.db" -dir "$WORK"
	rm -f "$WORK/go.db"* "$WORK/c.db"*
fi

say "export all as CSV"
start=$(date +%s.%N)
"$BIN/pivand" export contacts --data "$DATA" > "$WORK/export.csv" 2> "$WORK/export.txt"
end=$(date +%s.%N)
cat "$WORK/export.txt"
echo "$(($(wc -l < "$WORK/export.csv") - 1)) rows in $(echo "$end - $start" | bc) s"

say "serve"
"$BIN/pivand" user create --data "$DATA" --email bench@example.com --password 'a bench password' --role admin > /dev/null 2>&1 || true
TOKEN=$("$BIN/pivand" token create --data "$DATA" --email bench@example.com --name bench)
"$BIN/pivand" serve --data "$DATA" --addr "127.0.0.1:$PORT" --log-level warn > "$WORK/serve.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2> /dev/null || true' EXIT
for _ in $(seq 50); do
	curl -fs "http://127.0.0.1:$PORT/readyz" > /dev/null 2>&1 && break
	sleep 0.2
done
echo "server pid $SERVER, resident memory idle: $(rss $SERVER VmRSS)"

say "GET /api/v1/contacts/{id} (random ids, 16 connections)"
"$BIN/httpload" -url "http://127.0.0.1:$PORT/api/v1/contacts/{id}" -ids "1-$N" -token "$TOKEN" -c 16 -n 200000 -d 30s -pid "$SERVER"
echo "server resident memory: $(rss $SERVER VmRSS) (peak $(rss $SERVER VmHWM))"

say "search through the service (no HTTP)"
"$BIN/searchbench" -data "$DATA" -people "$N" -n 1000

say "GET /api/v1/search?q=… (mixed queries, 4 connections)"
"$BIN/searchbench" -people "$N" -print 5000 > "$WORK/queries.txt"
"$BIN/httpload" -url "http://127.0.0.1:$PORT/api/v1/search?q={q}" -queries "$WORK/queries.txt" -token "$TOKEN" -c 4 -n 5000 -d 60s -pid "$SERVER"
echo "server resident memory: $(rss $SERVER VmRSS) (peak $(rss $SERVER VmHWM))"

say "done; files in $WORK"
