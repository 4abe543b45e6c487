#!/usr/bin/env bash
# Agent -> coordinator throughput over mutual TLS on loopback, against the offline
# `repo backup` of the same dump: how much the channel costs. Prints a markdown table.
#
#   bench/channel.sh                 # a pgbench dump (scale $BENCH_SCALE, default 20)
#   BENCH_DUMP=/path/file bench/channel.sh   # a text dump: runs after the first rewrite a-f
#   BENCH_RUNS=N                     # runs (default 5); medians are reported
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/common.sh

ensure_build_packages
ensure_postgres_packages
swift build -c release --product zentoria-coordinator >/dev/null
swift build -c release --product zentoria-agent >/dev/null
bin=$(swift build -c release --show-bin-path)
runs=${BENCH_RUNS:-5}

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
    dump: ["cat", "$work/current"]
YAML
"$bin/zentoria-agent" run --config "$work/agent.yaml" >"$work/agent.log" 2>&1 &
agent=$!
pids+=($agent)
for _ in $(seq 100); do admin agents | grep -q connected && break; sleep 0.1; done

seconds() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
mbps() { awk -v n="$bytes" -v s="$1" 'BEGIN { printf "%.1f", n / 1e6 / s }'; }
hwm() { awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }
# CPU seconds a process and its waited-for children used so far.
cpu() { awk '{ printf "%.2f", ($14 + $15 + $16 + $17) / 100 }' "/proc/$1/stat"; }

# Run i backs up variant i of the dump twice on each path: first (nothing dedups) and again
# (everything dedups). Variant i maps the hex digits a-f to other letters, a byte-for-byte
# substitution: same size and compressibility, but no chunk in common with the other variants.
variant() {
    local letters=(abcdef ghijkl mnopqr stuvwx GHIJKL MNOPQR STUVWX)
    if (($1 == 1)); then
        ln -sf "$dump" "$work/current"
    else
        tr abcdef "${letters[($1 - 1) % ${#letters[@]}]}" <"$dump" >"$work/variant"
        ln -sf "$work/variant" "$work/current"
    fi
    cat "$work/current" >/dev/null
}
declare -A wall cpu_s
through_channel() { # key
    local before start
    before=$(awk -v a="$(cpu "$coordinator")" -v b="$(cpu "$agent")" 'BEGIN { print a + b }')
    start=$EPOCHREALTIME
    admin backup bench/dump --wait >/dev/null
    wall[$1]+="$(seconds "$start" "$EPOCHREALTIME") "
    cpu_s[$1]+="$(awk -v a="$(cpu "$coordinator")" -v b="$(cpu "$agent")" -v z="$before" 'BEGIN { print a + b - z }') "
}
offline() { # key pipe|file
    local start=$EPOCHREALTIME
    # From a pipe, as the agent reads its dump command's output (CPU includes `cat` on both
    # paths), and from the file itself, the offline tool's best case.
    if [[ $2 == pipe ]]; then
        ZENTORIA_PASSWORD_FILE=$work/password /usr/bin/time -f '%U %S' -o "$work/time" sh -c \
            'cat "$3" | "$1" repo backup --repo "$2" --agent bench --component dump' \
            sh "$bin/zentoria-coordinator" "$work/offline" "$work/current" >/dev/null
    else
        ZENTORIA_PASSWORD_FILE=$work/password /usr/bin/time -f '%U %S' -o "$work/time" \
            "$bin/zentoria-coordinator" repo backup --repo "$work/offline-file" --agent bench \
            --component dump <"$work/current" >/dev/null
    fi
    wall[$1]+="$(seconds "$start" "$EPOCHREALTIME") "
    cpu_s[$1]+="$(awk '{ print $1 + $2 }' "$work/time") "
}
for repo in offline offline-file; do
    ZENTORIA_PASSWORD_FILE=$work/password "$bin/zentoria-coordinator" repo init --repo "$work/$repo" >/dev/null
done
for run in $(seq "$runs"); do
    log "run $run of $runs"
    variant "$run"
    # Alternate which path goes first, so neither always meets a warmer machine.
    if ((run % 2)); then
        through_channel channel.first; through_channel channel.again
        offline offline.first pipe; offline offline.again pipe
        offline file.first file; offline file.again file
    else
        offline file.first file; offline file.again file
        offline offline.first pipe; offline offline.again pipe
        through_channel channel.first; through_channel channel.again
    fi
done
median() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
cpu_rate() { awk -v n="$bytes" -v s="$1" 'BEGIN { printf "%.1f", n / 1e6 / s }'; }
row() { # label key-prefix rss
    local f a fc ac
    f=$(median "${wall[$2.first]}") a=$(median "${wall[$2.again]}")
    fc=$(median "${cpu_s[$2.first]}") ac=$(median "${cpu_s[$2.again]}")
    echo "| $1 | $f | $(mbps "$f") | $fc | $(cpu_rate "$fc") | $a | $(mbps "$a") | $ac | $3 |"
}
pct() { awk -v c="$1" -v o="$2" 'BEGIN { printf "%+.1f %%", (c / o - 1) * 100 }'; }
echo
echo "Medians of $runs runs; wall seconds; CPU-s of coordinator + agent + \`cat\` (channel),"
echo "\`repo backup\` + \`cat\` (pipe) or \`repo backup\` (file). The offline rows include process"
echo "start and key derivation (about 0.25 CPU-s); the running coordinator holds its key already."
echo
echo "| path | first backup s | MB/s | CPU-s | MB per CPU-s | again (dedup) s | MB/s | CPU-s | peak RSS MiB |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---|"
row "agent -> coordinator (mutual TLS, gRPC)" channel "coordinator $(hwm "$coordinator"), agent $(hwm "$agent")"
row "offline \`repo backup\` (from a pipe)" offline ""
row "offline \`repo backup\` (from the file)" file ""
echo
echo "channel cost in time: $(pct "$(median "${wall[channel.first]}")" "$(median "${wall[offline.first]}")") (first backup)," \
    "$(pct "$(median "${wall[channel.again]}")" "$(median "${wall[offline.again]}")") (again);" \
    "in CPU: $(pct "$(median "${cpu_s[channel.first]}")" "$(median "${cpu_s[offline.first]}")")," \
    "$(pct "$(median "${cpu_s[channel.again]}")" "$(median "${cpu_s[offline.again]}")"); $bytes-byte dump"
echo "against the offline tool reading the file: $(pct "$(median "${wall[channel.first]}")" "$(median "${wall[file.first]}")")," \
    "$(pct "$(median "${wall[channel.again]}")" "$(median "${wall[file.again]}")")"
for key in channel.first offline.first file.first channel.again offline.again file.again; do
    echo "  $key: ${wall[$key]}s wall; ${cpu_s[$key]}CPU-s" >&2
done
