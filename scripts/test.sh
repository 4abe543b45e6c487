#!/usr/bin/env bash
# Runs every test: installs what is missing, starts the services the tests need on loopback,
# builds once (debug), runs the whole suite, stops the services.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/common.sh

ensure_build_packages
ensure_postgres_packages
ensure_storage_packages

work=$(mktemp -d -t zentoria-test.XXXXXX)
chmod 755 "$work"
cleanup() {
    pg_stop "$work/postgres"
    moto_stop "$work/moto"
    rm -rf "$work"
}
trap cleanup EXIT

log "starting PostgreSQL on 127.0.0.1"
pg_start "$work/postgres"
export ZENTORIA_TEST_PGHOST=$PGHOST ZENTORIA_TEST_PGPORT=$PGPORT
log "starting moto's S3 server on 127.0.0.1"
moto_start "$work/moto"

log "checking formatting (swift format lint --strict)"
find Sources Tests -name '*.swift' -not -path 'Sources/Proto/Generated/*' -print0 \
    | xargs -0 swift format lint --strict Package.swift

log "building (debug) with tests"
swift build --build-tests
log "running tests"
set +e
swift test --skip-build 2>&1 | tee "$work/test.log"
status=${PIPESTATUS[0]}
set -e
# A skip line names the test and says "skipped"; test names may contain the word too, so
# lines that report a start, a pass or a failure do not count.
if grep -E "Test .* skipped" "$work/test.log" \
    | grep -vE "started\.$|passed after|failed after|recorded an issue" >&2; then
    die "some tests were skipped: every test must run here"
fi
exit "$status"
