#!/usr/bin/env bash
# The main job, on one machine: a scratch PostgreSQL with sample data; a coordinator; an agent
# enrolled with a one-time token; a backup streamed over mutual TLS; the database dropped; a
# restore through the agent; row counts compared; a short summary. Everything lives in a
# temporary directory that is removed at the end, and every process is stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/common.sh

ensure_build_packages
ensure_postgres_packages
scale=${DEMO_SCALE:-10}

log "building zentoria-coordinator and zentoria-agent (release)"
swift build -c release --product zentoria-coordinator >/dev/null
swift build -c release --product zentoria-agent >/dev/null
bin=$(swift build -c release --show-bin-path)

work=$(mktemp -d -t zentoria-demo.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    pg_stop "$work/postgres"
    rm -rf "$work"
}
trap cleanup EXIT
pg_start "$work/postgres"

agent_port=$(free_port)
enroll_port=$(free_port)
head -c 24 /dev/urandom | base64 >"$work/password"
cat >"$work/coordinator.yaml" <<YAML
listen: 127.0.0.1:$agent_port
enroll_listen: 127.0.0.1:$enroll_port
server_names: [localhost, 127.0.0.1]
state_dir: $work/coordinator
password_file: $work/password
kinds:
  postgresql:
    schedule: []    # the demo runs its backup by hand; no scheduled run in between
YAML
admin() { "$bin/zentoria-coordinator" "$@" --config "$work/coordinator.yaml"; }

log "creating sample database 'shop' (pgbench scale $scale, non-blank text)"
createdb shop
pgbench -i -q -s "$scale" shop >/dev/null 2>&1
psql -q -d shop -c "UPDATE pgbench_accounts SET filler = md5(aid::text) || ' ' || md5((aid * 7)::text) || ' account note'" >/dev/null
psql -q -d shop -c "VACUUM FULL" >/dev/null
counts() {
    psql -At -d "$1" -c "SELECT 'accounts=' || count(*) FROM pgbench_accounts" \
        -c "SELECT 'history=' || count(*) FROM pgbench_history" \
        -c "SELECT 'balance=' || sum(abalance) FROM pgbench_accounts" | paste -sd' '
}

log "coordinator: init (CA, server certificate, repository) and serve"
fingerprint=$("$bin/zentoria-coordinator" init --config "$work/coordinator.yaml")
"$bin/zentoria-coordinator" serve --config "$work/coordinator.yaml" >"$work/coordinator.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do admin status >/dev/null 2>&1 && break; sleep 0.1; done
admin status

log "agent: enroll with a one-time token, pinning the CA fingerprint"
token=$(admin token create --agent db-host --ttl 10m)
"$bin/zentoria-agent" enroll --coordinator "127.0.0.1:$enroll_port" --token "$token" \
    --ca-fingerprint "$fingerprint" --state-dir "$work/agent"
cat >"$work/agent.yaml" <<YAML
state_dir: $work/agent
components:
  - name: postgresql-shop
    kind: postgresql
    database: shop
    host: $PGHOST
    port: $PGPORT
    user: postgres
YAML
"$bin/zentoria-agent" run --config "$work/agent.yaml" >"$work/agent.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do admin agents | grep -q "connected" && break; sleep 0.1; done
admin agents

log "backup through the agent"
pgbench -n -t 1000 -c 5 shop >/dev/null 2>&1
before=$(counts shop)
start=$EPOCHREALTIME
admin backup db-host/postgresql-shop --wait
t1=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { print b - a }')
admin snapshots

log "dropping the database, then restoring the latest snapshot through the agent"
dropdb shop
snapshot=$(admin snapshots --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["id"])')
start=$EPOCHREALTIME
admin restore "$snapshot" --to db-host/postgresql-shop
t2=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { print b - a }')
after=$(counts shop)

log "verifying every stored byte"
ZENTORIA_PASSWORD_FILE=$work/password "$bin/zentoria-coordinator" repo check --repo "$work/coordinator/repository" --read-data

echo
echo "== Zentoria Backup demo summary =="
printf 'backup over mutual TLS: %.1f s; restore through the agent: %.1f s\n' "$t1" "$t2"
echo "before: $before"
echo "after:  $after"
if [[ $before == "$after" ]]; then
    echo "RESULT: restored database matches the original"
else
    echo "RESULT: MISMATCH"
    exit 1
fi
