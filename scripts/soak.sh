#!/usr/bin/env bash
# Soak: a simulated region's year sent to a real `carehub serve`, then
# verified against the simulator's ground truth. Prints elapsed time and the
# hub's peak RSS. Sizes: SOAK_DAYS, SOAK_SCALE, SOAK_SEED, SOAK_REGION,
# SOAK_CONNECTIONS. Needs bin/carehub (make build) and PostgreSQL.
set -euo pipefail

BIN=${BIN:-bin/carehub}
DAYS=${SOAK_DAYS:-365}
SCALE=${SOAK_SCALE:-1}
SEED=${SOAK_SEED:-1}
REGION=${SOAK_REGION:-jonkoping}
CONNECTIONS=${SOAK_CONNECTIONS:-32}
PGURL=${SOAK_DATABASE_BASE:-postgres://root@127.0.0.1:5432}

work=$(mktemp -d "${TMPDIR:-/tmp}/carehub-soak.XXXXXX")
db="carehub_soak_$$"

echo "soak: simulating $DAYS days of $REGION at population scale $SCALE (seed $SEED) into $work"
"$BIN" simulate --seed "$SEED" --region "$REGION" --population-scale "$SCALE" --days "$DAYS" --out "$work/sim" --quiet

echo "soak: starting the hub on free ports (database $db)"
# The secret goes in a file, never on the command line.
printf '%s\n' "soak-secret-0123456789abcdef0123456789" >"$work/patient-key.secret"
# Port 0 everywhere: the hub binds and reports its addresses in the ready
# file, so no port is picked here that another process could take first.
"$BIN" serve --log-level warn --http-addr 127.0.0.1:0 --mllp-addr 127.0.0.1:0 \
  --nats-listen 127.0.0.1:0 --data-dir "$work/data" --database-url "$PGURL/$db?sslmode=disable" \
  --directory "$work/sim/directory.yaml" --patient-key-secret-file "$work/patient-key.secret" \
  --ready-file "$work/ready.json" >"$work/hub.log" 2>&1 &
hub=$!
peak=0
cleanup() {
  kill "$hub" 2>/dev/null && wait "$hub" 2>/dev/null || true
  psql -q "$PGURL/postgres?sslmode=disable" -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
  [ -n "${SOAK_KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 1 150); do
  [ -s "$work/ready.json" ] && break
  kill -0 "$hub" 2>/dev/null || { cat "$work/hub.log"; echo "soak: the hub did not start" >&2; exit 1; }
  sleep 0.2
done
[ -s "$work/ready.json" ] || { cat "$work/hub.log"; echo "soak: the hub was not ready in 30 s" >&2; exit 1; }
addr() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$work/ready.json" "$1"; }
http_addr=$(addr http); mllp_addr=$(addr mllp); nats_url=$(addr nats)
echo "soak: the hub is ready (HTTP $http_addr, MLLP $mllp_addr, NATS $nats_url)"

start=$(date +%s.%N)
# The sender shares the machine with the hub; its CPU time is printed so the
# hub's share of the wall time can be told apart from the load generator's.
TIMEFORMAT='%U %S' status=0
sender_cpu=$( { time "$BIN" simulate --seed "$SEED" --region "$REGION" --population-scale "$SCALE" --days "$DAYS" --speedup max --quiet \
  --connections "$CONNECTIONS" --mllp "$mllp_addr" --http "http://$http_addr" 2>&3 >&3 || echo "failed $?"; } 3>&2 2>&1 )
case $sender_cpu in *failed*) status=1 ;; esac
sender_cpu=$(awk '{printf "%.0f", $1 + $2}' <<<"${sender_cpu##*$'\n'}")
sent=$(date +%s.%N)
"$BIN" simulate verify --expected "$work/sim/expected.ndjson" --nats "$nats_url" --idle 10s || status=1
end=$(date +%s.%N)
peak=$(awk '/VmHWM/ {print $2, $3}' "/proc/$hub/status")
# utime + stime of the hub (fields 14 and 15), in seconds: with the wall
# time, it shows how much of the machine the hub itself used.
cpu=$(awk -v hz="$(getconf CLK_TCK)" '{printf "%.0f", ($14 + $15) / hz}' "/proc/$hub/stat")
messages=$(( $(cat "$work"/sim/hl7/*.hl7 | tr '\r' '\n' | grep -c '^MSH') + $(wc -l <"$work/sim/homecare.ndjson") ))
awk -v s="$start" -v m="$sent" -v e="$end" -v n="$messages" -v p="$peak" -v c="$cpu" -v sc="$sender_cpu" 'BEGIN {
  printf "soak: %d messages sent in %.1f s (%.0f msg/s), verified after %.1f s in all; hub peak RSS %s, hub CPU %d s, sender CPU %d s\n", n, m-s, n/(m-s), e-s, p, c, sc }'
exit $status
