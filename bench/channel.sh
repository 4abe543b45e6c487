#!/usr/bin/env bash
# Agent -> coordinator throughput over mutual TLS on loopback, against the offline
# `repo backup` of the same dump: how much the channel costs. Prints a markdown table.
#
#   bench/channel.sh                 # a pgbench dump (scale $BENCH_SCALE, default 20)
#   BENCH_DUMP=/path/file bench/channel.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/common.sh

ensure_build_packages
ensure_postgres_packages
swift build -c release --product zentoria-coordinator >/dev/null
swift build -c release --product zentoria-agent >/dev/null
bin=$(swift build -c release --show-bin-path)
runs=${BENCH_RUNS:-3}

work=$(mktemp -d -t zentoria-channel.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    pg_stop "$work/postgres"
    rm -rf "$work"
}
trap cleanup EXIT

dump=${BENCH_DUMP:-}
if [[ -z $dump ]]; then
    log "making a pgbench dump (scale ${BENCH_SCALE:-20}, non-blank text)"
    pg_start "$work/postgres"
    createdb bench
    pgbench -i -q -s "${BENCH_SCALE:-20}" bench >/dev/null 2>&1
    psql -q -d bench -c "UPDATE pgbench_accounts SET filler = md5(aid::text) || ' ' || md5((aid * 7)::text) || ' note'" >/dev/null
    pg_dump -Fc -Z0 bench >"$work/dump"
    pg_stop "$work/postgres"
    dump=$work/dump
fi
bytes=$(stat -c %s "$dump")
log "dump: $bytes bytes"

head -c 24 /dev/urandom | base64 >"$work/password"
cat >"$work/coordinator.yaml" <<YAML
listen: 127.0.0.1:$(free_port)
enroll_listen: 127.0.0.1:$(free_port)
state_dir: $work/coordinator
password_file: $work/password
YAML
admin() { "$bin/zentoria-coordinator" "$@" --config "$work/coordinator.yaml"; }
fingerprint=$("$bin/zentoria-coordinator" init --config "$work/coordinator.yaml")
"$bin/zentoria-coordinator" serve --config "$work/coordinator.yaml" >"$work/coordinator.log" 2>&1 &
coordinator=$!
pids+=($coordinator)
for _ in $(seq 100); do admin status >/dev/null 2>&1 && break; sleep 0.1; done
enroll_port=$(grep enroll_listen "$work/coordinator.yaml" | sed 's/.*://')
"$bin/zentoria-agent" enroll --coordinator "127.0.0.1:$enroll_port" --token "$(admin token create --agent bench)" \
    --ca-fingerprint "$fingerprint" --state-dir "$work/agent" >/dev/null
cat >"$work/agent.yaml" <<YAML
state_dir: $work/agent
components:
  - name: dump
    kind: command
    dump: ["cat", "$dump"]
YAML
"$bin/zentoria-agent" run --config "$work/agent.yaml" >"$work/agent.log" 2>&1 &
agent=$!
pids+=($agent)
for _ in $(seq 100); do admin agents | grep -q connected && break; sleep 0.1; done

seconds() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
mbps() { awk -v n="$bytes" -v s="$1" 'BEGIN { printf "%.1f", n / 1e6 / s }'; }
hwm() { awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }

cat "$dump" >/dev/null
ZENTORIA_PASSWORD_FILE=$work/password "$bin/zentoria-coordinator" repo init --repo "$work/offline" >/dev/null
channel=()
offline=()
for run in $(seq "$runs"); do
    start=$EPOCHREALTIME
    admin backup bench/dump --wait >/dev/null
    channel+=("$(seconds "$start" "$EPOCHREALTIME")")
    start=$EPOCHREALTIME
    ZENTORIA_PASSWORD_FILE=$work/password "$bin/zentoria-coordinator" repo backup --repo "$work/offline" \
        --agent bench --component dump <"$dump" >/dev/null
    offline+=("$(seconds "$start" "$EPOCHREALTIME")")
done
best() { printf '%s\n' "$@" | sort -n | head -1; }
c1=${channel[0]}
o1=${offline[0]}
c=$(best "${channel[@]:1}")
o=$(best "${offline[@]:1}")
echo
echo "| path | first backup s | MB/s | repeat (dedup) best s | MB/s | peak RSS MiB |"
echo "|---|---:|---:|---:|---:|---:|"
echo "| agent -> coordinator (mutual TLS, gRPC) | $c1 | $(mbps "$c1") | $c | $(mbps "$c") | coordinator $(hwm $coordinator), agent $(hwm $agent) |"
echo "| offline \`repo backup\` (stdin) | $o1 | $(mbps "$o1") | $o | $(mbps "$o") | |"
awk -v c="$c1" -v o="$o1" -v c2="$c" -v o2="$o" 'BEGIN { printf "\nchannel cost: %.1f %% (first backup), %.1f %% (repeat), of the offline time; %s-byte dump\n", (c / o - 1) * 100, (c2 / o2 - 1) * 100, "'"$bytes"'" }'
