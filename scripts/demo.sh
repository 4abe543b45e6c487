#!/usr/bin/env bash
# The main job, on one machine: a scratch PostgreSQL with sample data is dumped, backed up into
# a new repository, changed and backed up again, dropped, restored from the repository with
# pg_restore, and compared row by row. Everything happens in a temporary directory that is
# removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/common.sh

ensure_build_packages
ensure_postgres_packages
scale=${DEMO_SCALE:-10}

log "building zentoria-coordinator (release)"
swift build -c release --product zentoria-coordinator >/dev/null
bin=$(swift build -c release --show-bin-path)/zentoria-coordinator

work=$(mktemp -d -t zentoria-demo.XXXXXX)
chmod 755 "$work"
trap 'pg_stop "$work/postgres"; rm -rf "$work"' EXIT
pg_start "$work/postgres"
export ZENTORIA_PASSWORD_FILE=$work/password
head -c 24 /dev/urandom | base64 >"$ZENTORIA_PASSWORD_FILE"
repo=$work/repository

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

"$bin" repo init --repo "$repo"
log "backup 1: pg_dump -Fc -Z0 | zentoria-coordinator repo backup"
start=$EPOCHREALTIME
first=$(pg_dump -Fc -Z0 shop | "$bin" repo backup --repo "$repo" --agent demo-host --component postgresql-shop --kind postgresql --json)
t1=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { print b - a }')

log "running 5000 transactions"
pgbench -n -t 1000 -c 5 shop >/dev/null 2>&1
before=$(counts shop)
log "backup 2 after the changes"
second=$(pg_dump -Fc -Z0 shop | "$bin" repo backup --repo "$repo" --agent demo-host --component postgresql-shop --kind postgresql --json)

"$bin" repo snapshots --repo "$repo"
"$bin" repo stats --repo "$repo"

log "dropping the database, then restoring the latest snapshot with pg_restore"
dropdb shop
createdb shop
start=$EPOCHREALTIME
"$bin" repo restore --repo "$repo" latest --component postgresql-shop --output "$work/restored.dump"
pg_restore -d shop "$work/restored.dump"
t2=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { print b - a }')
after=$(counts shop)

log "verifying every stored byte"
"$bin" repo check --repo "$repo" --read-data

field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }
echo
echo "== Zentoria Backup demo summary =="
printf 'dump 1: %s bytes, %s stored, %.1f s\n' "$(field "$first" bytes)" "$(field "$first" bytes_added)" "$t1"
printf 'dump 2: %s bytes, %s stored\n' "$(field "$second" bytes)" "$(field "$second" bytes_added)"
printf 'restore + pg_restore: %.1f s\n' "$t2"
echo "before: $before"
echo "after:  $after"
if [[ $before == "$after" ]]; then
    echo "RESULT: restored database matches the original"
else
    echo "RESULT: MISMATCH"
    exit 1
fi
