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
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
http_port=$(free_port); mllp_port=$(free_port); nats_port=$(free_port)

echo "soak: simulating $DAYS days of $REGION at population scale $SCALE (seed $SEED) into $work"
"$BIN" simulate --seed "$SEED" --region "$REGION" --population-scale "$SCALE" --days "$DAYS" --out "$work/sim" --quiet

echo "soak: starting the hub (HTTP :$http_port, MLLP :$mllp_port, NATS :$nats_port, database $db)"
"$BIN" serve --log-level warn --http-addr "127.0.0.1:$http_port" --mllp-addr "127.0.0.1:$mllp_port" \
  --nats-listen "127.0.0.1:$nats_port" --data-dir "$work/data" --database-url "$PGURL/$db?sslmode=disable" \
  --directory "$work/sim/directory.yaml" --patient-key-secret "soak-secret-0123456789abcdef0123456789" \
  >"$work/hub.log" 2>&1 &
hub=$!
peak=0
cleanup() {
  kill "$hub" 2>/dev/null && wait "$hub" 2>/dev/null || true
  psql -q "$PGURL/postgres?sslmode=disable" -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
  [ -n "${SOAK_KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 1 150); do
  curl -fs "http://127.0.0.1:$http_port/readyz" >/dev/null 2>&1 && break
  kill -0 "$hub" 2>/dev/null || { cat "$work/hub.log"; echo "soak: the hub did not start" >&2; exit 1; }
  sleep 0.2
done

start=$(date +%s.%N)
# The sender shares the machine with the hub; its CPU time is printed so the
# hub's share of the wall time can be told apart from the load generator's.
TIMEFORMAT='%U %S' status=0
sender_cpu=$( { time "$BIN" simulate --seed "$SEED" --region "$REGION" --population-scale "$SCALE" --days "$DAYS" --speedup max --quiet \
  --connections "$CONNECTIONS" --mllp "127.0.0.1:$mllp_port" --http "http://127.0.0.1:$http_port" 2>&3 >&3 || echo "failed $?"; } 3>&2 2>&1 )
case $sender_cpu in *failed*) status=1 ;; esac
sender_cpu=$(awk '{printf "%.0f", $1 + $2}' <<<"${sender_cpu##*$'\n'}")
sent=$(date +%s.%N)
"$BIN" simulate verify --expected "$work/sim/expected.ndjson" --nats "nats://127.0.0.1:$nats_port" --idle 10s || status=1
end=$(date +%s.%N)
peak=$(awk '/VmHWM/ {print $2, $3}' "/proc/$hub/status")
# utime + stime of the hub (fields 14 and 15), in seconds: with the wall
# time, it shows how much of the machine the hub itself used.
cpu=$(awk -v hz="$(getconf CLK_TCK)" '{printf "%.0f", ($14 + $15) / hz}' "/proc/$hub/stat")
messages=$(( $(cat "$work"/sim/hl7/*.hl7 | tr '\r' '\n' | grep -c '^MSH') + $(wc -l <"$work/sim/homecare.ndjson") ))
awk -v s="$start" -v m="$sent" -v e="$end" -v n="$messages" -v p="$peak" -v c="$cpu" -v sc="$sender_cpu" 'BEGIN {
  printf "soak: %d messages sent in %.1f s (%.0f msg/s), verified after %.1f s in all; hub peak RSS %s, hub CPU %d s, sender CPU %d s\n", n, m-s, n/(m-s), e-s, p, c, sc }'
exit $status
