#!/usr/bin/env bash
# Zentoria Backup benchmark: `zentoria-coordinator sync` of a ~1 GiB tier-1 repository to an
# S3 tier (moto) and an rclone tier (rclone serve webdav), both on loopback; optionally
# `restic copy` of the same data to the same two servers for comparison.
#
#   bench/replication.sh        run it (about 3 minutes on 2 cores after the build, 7 GB of scratch disk)
#
# Environment (all optional):
#   ZENTORIA_BIN        binary to test (default: BENCH_BUILD_DIR/release/zentoria-coordinator
#                       under the repository root, built or brought up to date, niced, first)
#   BENCH_BUILD_DIR     swift build folder used to build it (default .build)
#   BENCH_PARTS         number of backups filling tier 1 (default 4, one component each)
#   BENCH_PART_MIB      size of each of those backups in MiB (default 256)
#   BENCH_DELTA_MIB     size of the small backup before the second sync (default 20)
#   BENCH_RESTIC        1 = also time restic copy, 0 = skip it (default 1 when restic is installed)
#   BENCH_OUT           markdown report file (default bench/results-replication-DATE.md)
#   BENCH_TMPDIR        where the scratch directory is created (default $TMPDIR or /tmp)
#   BENCH_KEEP, KEEP    1 = keep the scratch directory (repositories, server logs) for inspection
set -Eeuo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/.." && pwd)

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf 'replication.sh: ERROR: %s\n' "$*" >&2; exit 1; }
trap 'printf "replication.sh: command failed at line %s: %s\n" "$LINENO" "$BASH_COMMAND" >&2' ERR

usage() {
  sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

# --------------------------------------------------------------------------
# Settings
# --------------------------------------------------------------------------
case "${1:-}" in
  "") ;;
  -h|--help|help) usage; exit 0 ;;
  *) usage >&2; die "unexpected argument '$1'" ;;
esac

PARTS=${BENCH_PARTS:-4}
PART_MIB=${BENCH_PART_MIB:-256}
DELTA_MIB=${BENCH_DELTA_MIB:-20}
KEEP_WORK=${BENCH_KEEP:-${KEEP:-0}}
STAMP=$(date +%Y%m%d-%H%M%S)
OUT=${BENCH_OUT:-$SCRIPT_DIR/results-replication-$STAMP.md}
if [[ -n ${BENCH_RESTIC:-} ]]; then
  WITH_RESTIC=$BENCH_RESTIC
elif command -v restic >/dev/null 2>&1; then
  WITH_RESTIC=1
else
  WITH_RESTIC=0
fi

BUILD_DIR=${BENCH_BUILD_DIR:-.build}
case $BUILD_DIR in /*) ;; *) BUILD_DIR=$REPO_ROOT/$BUILD_DIR ;; esac
DEFAULT_BIN=$BUILD_DIR/release/zentoria-coordinator
if [[ -n ${ZENTORIA_BIN:-} ]]; then
  case $ZENTORIA_BIN in
    /*) BIN=$ZENTORIA_BIN ;;
    *) BIN=$REPO_ROOT/$ZENTORIA_BIN ;;
  esac
else
  BIN=$DEFAULT_BIN
fi

[[ $PARTS =~ ^[1-9][0-9]*$ ]] || die "BENCH_PARTS must be a positive integer (got '$PARTS')"
[[ $PART_MIB =~ ^[1-9][0-9]*$ ]] || die "BENCH_PART_MIB must be a positive integer (got '$PART_MIB')"
[[ $DELTA_MIB =~ ^[1-9][0-9]*$ ]] || die "BENCH_DELTA_MIB must be a positive integer (got '$DELTA_MIB')"
[[ $WITH_RESTIC == 0 || $WITH_RESTIC == 1 ]] || die "BENCH_RESTIC must be 0 or 1 (got '$WITH_RESTIC')"

# --------------------------------------------------------------------------
# Prerequisites
# --------------------------------------------------------------------------
for tool in python3 rclone openssl; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is required"
done
[[ -x /usr/bin/time ]] || die "/usr/bin/time is required (apt-get install time)"
# The interpreter itself (not a pyenv shim), so the server's PID is the one that does the work.
PYTHON=$(python3 -c 'import sys; print(sys.executable)')
"$PYTHON" -c 'import moto.server' 2>/dev/null || die "moto's server is required (pip install 'moto[server]')"
if ! command -v aws >/dev/null 2>&1 && ! "$PYTHON" -c 'import boto3' 2>/dev/null; then
  die "the aws CLI or python3's boto3 is required to create the S3 buckets"
fi
if [[ $WITH_RESTIC == 1 ]] && ! command -v restic >/dev/null 2>&1; then
  die "BENCH_RESTIC=1 but restic is not installed"
fi

BUILD_WALL=""
ensure_zentoria() {
  if [[ $BIN != "$DEFAULT_BIN" ]]; then
    [[ -x $BIN ]] || die "zentoria binary not found: $BIN (unset ZENTORIA_BIN to build it)"
    return 0
  fi
  command -v swift >/dev/null 2>&1 || die "swift is not installed and ZENTORIA_BIN is not set"
  # Always brought up to date: an older release binary may predate `sync`. Another build in the
  # same folder holds SwiftPM's lock; this one then waits for it.
  log "building (niced): swift build -c release --scratch-path ${BUILD_DIR#"$REPO_ROOT"/} --product zentoria-coordinator"
  local start=$EPOCHREALTIME
  (cd "$REPO_ROOT" && nice -n 19 swift build -c release --scratch-path "$BUILD_DIR" --product zentoria-coordinator) >&2 \
    || die "swift build failed"
  BUILD_WALL=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.0f", b - a}')
  [[ -x $BIN ]] || die "swift build finished but $BIN does not exist"
  log "  build: ${BUILD_WALL}s"
}

ensure_zentoria
"$BIN" sync --help >/dev/null 2>&1 || die "$BIN has no 'sync' command (too old?)"

# --------------------------------------------------------------------------
# Scratch directory, servers, cleanup
# --------------------------------------------------------------------------
BASE_TMP=${BENCH_TMPDIR:-${TMPDIR:-/tmp}}
mkdir -p "$BASE_TMP"
WORK=$(mktemp -d "$BASE_TMP/zentoria-replication.XXXXXX")
LOGS=$WORK/logs
REPO=$WORK/repo
DAV_DIR=$WORK/webdav
mkdir -p "$LOGS" "$WORK/tmp" "$WORK/data" "$WORK/state" "$DAV_DIR" "$WORK/bin"
MOTO_PID=""
DAV_PID=""

stop_server() { # PID NAME: SIGTERM, then SIGKILL after 5 s
  local pid=$1 name=$2 i
  [[ -n $pid ]] || return 0
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "$name (pid $pid) ignored SIGTERM; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$?
  set +e
  trap - ERR
  stop_server "$MOTO_PID" moto
  stop_server "$DAV_PID" "rclone serve webdav"
  if [[ $KEEP_WORK == 1 ]]; then
    log "keeping scratch directory $WORK"
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT
trap 'log "terminated"; exit 143' TERM

export TMPDIR=$WORK/tmp
PWFILE=$WORK/password
printf 'zentoria-bench-passphrase-0123456789\n' >"$PWFILE"
chmod 600 "$PWFILE"
export ZENTORIA_PASSWORD_FILE=$PWFILE

# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------
BENCH_NAME=replication.sh
# shellcheck source=bench/lib.sh
source "$SCRIPT_DIR/lib.sh"

free_port() {
  "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
wait_port() { # PORT NAME LOGFILE
  local i
  for ((i = 0; i < 150; i++)); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.2
  done
  show_log "$3" "$2"
  die "$2 did not start listening on 127.0.0.1:$1"
}
json_field() { # FILE FIELD -> value of FIELD in the first element of the JSON array in FILE
  "$PYTHON" -c '
import json, sys
value = json.load(open(sys.argv[1]))[0].get(sys.argv[2])
print("" if value is None else value)' "$1" "$2"
}
CLK_TCK=$(getconf CLK_TCK)
proc_cpu() { # PID -> CPU seconds (user + sys) the process has used so far
  [[ -r /proc/$1/stat ]] || { echo 0; return; }
  sed 's/^.*) //' "/proc/$1/stat" | awk -v t="$CLK_TCK" '{printf "%.2f", ($12 + $13) / t}'
}
proc_hwm() { awk '/VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/$1/status" 2>/dev/null || echo "?"; }
moto_requests() { # -> "PUT GET HEAD other" lines in moto's access log so far
  awk '
    / "PUT /  {p++; next}
    / "GET /  {g++; next}
    / "HEAD / {h++; next}
    / "(POST|DELETE) / {o++}
    END {printf "%d %d %d %d\n", p, g, h, o}' "$WORK/moto.log"
}
rclone_calls() { [[ -f $WORK/rclone-calls.log ]] && wc -l <"$WORK/rclone-calls.log" || echo 0; }
rclone_calls_by_command() { # FROM-LINE -> "cat 5, lsjson 12, ..." for the calls after FROM-LINE
  tail -n "+$(($1 + 1))" "$WORK/rclone-calls.log" | sort | uniq -c | sort -rn \
    | awk '{printf "%s%s %s", (NR > 1 ? ", " : ""), $2, $1}'
}
sub() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", b - a}'; }
cpu() { awk -v u="${R[$1.user]}" -v s="${R[$1.sys]}" 'BEGIN{printf "%.1f", u+s}'; }
kib_mib() { awk -v k="$1" 'BEGIN{printf "%.0f", k/1024}'; }

# measure_srv KEY OUTFILE CMD...: measure (lib.sh) plus the CPU time moto and rclone serve used
# meanwhile (R[KEY.moto], R[KEY.dav]), moto's requests (R[KEY.s3req]) and the rclone processes
# started (R[KEY.spawns], R[KEY.spawnlist]).
measure_srv() {
  local key=$1 out=$2; shift 2
  local m0 d0 c0 p0 g0 h0 o0 p1 g1 h1 o1
  m0=$(proc_cpu "$MOTO_PID") d0=$(proc_cpu "$DAV_PID") c0=$(rclone_calls)
  read -r p0 g0 h0 o0 < <(moto_requests)
  measure "$key" /dev/null "$out" "$@"
  R[$key.moto]=$(sub "$m0" "$(proc_cpu "$MOTO_PID")")
  R[$key.dav]=$(sub "$d0" "$(proc_cpu "$DAV_PID")")
  read -r p1 g1 h1 o1 < <(moto_requests)
  R[$key.s3req]="$((p1 - p0)) PUT, $((g1 - g0)) GET, $((h1 - h0)) HEAD, $((o1 - o0)) other"
  R[$key.spawns]=$(($(rclone_calls) - c0))
  R[$key.spawnlist]=$(rclone_calls_by_command "$c0")
  log "    moto ${R[$key.moto]} CPU-s (${R[$key.s3req]}), rclone serve ${R[$key.dav]} CPU-s, ${R[$key.spawns]} rclone processes${R[$key.spawnlist]:+ (${R[$key.spawnlist]})}"
}

# Incompressible, reproducible data: AES-128-CTR keystream with a fixed key per file.
gen_data() { # FILE MIB INDEX
  head -c "$(($2 * 1048576))" /dev/zero \
    | openssl enc -aes-128-ctr -nosalt -K "$(printf '7a656e746f7269612d7265706c%06x' "$3")" \
        -iv 00000000000000000000000000000000 >"$1" || die "openssl failed to write $1"
  [[ $(fsize "$1") == $(($2 * 1048576)) ]] || die "$1 has the wrong size"
}

# ==========================================================================
START=$(date +%s)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
DATA_BYTES=$((PARTS * PART_MIB * 1048576))
DELTA_BYTES=$((DELTA_MIB * 1048576))
avail=$(df -B1 --output=avail "$WORK" | tail -n 1 | tr -d ' ')
need=$(((DATA_BYTES + DELTA_BYTES) * (WITH_RESTIC == 1 ? 7 : 4)))  # inputs, tier 1, webdav, moto's files (+ restic's three)
log "free in $BASE_TMP: $(mib "$avail") MiB, needed about $(mib "$need") MiB"
((avail > need)) || die "not enough disk in $BASE_TMP: $(mib "$avail") MiB free, about $(mib "$need") MiB needed (set BENCH_TMPDIR)"
log "binary: $BIN"

# --------------------------------------------------------------------------
# Tier 1: PARTS backups of PART_MIB MiB, one component each
# --------------------------------------------------------------------------
# One component per backup: the seed's retention for `command` snapshots keeps one snapshot
# per day and component, so same-day backups of one component would be forgotten on the
# tiers (and pruned there) instead of copied.
log "repo init (default key derivation: scrypt)"
measure init /dev/null "$LOGS/init.out" "$BIN" repo init --repo "$REPO"
for ((i = 1; i <= PARTS; i++)); do
  log "backup part$i: $PART_MIB MiB of AES-CTR keystream"
  gen_data "$WORK/data/part$i" "$PART_MIB" "$i"
  cat "$WORK/data/part$i" >/dev/null
  measure "backup$i" "$WORK/data/part$i" "$LOGS/backup$i.out" \
    "$BIN" repo backup --repo "$REPO" --agent bench --component "part$i"
  [[ $WITH_RESTIC == 1 ]] || rm -f "$WORK/data/part$i"
done
R[stored]=$(dusize "$REPO/data")
R[packs]=$(find "$REPO/data" -type f | wc -l)
measure stats /dev/null "$LOGS/stats.out" "$BIN" repo stats --repo "$REPO" --json
log "tier 1: $(mib "${R[stored]}") MiB in data/ (${R[packs]} packs), $(mib "$(dusize "$REPO")") MiB in all"
# Process start-up, key derivation and reading the snapshot list: part of every sync.
measure baseline /dev/null "$LOGS/baseline.out" "$BIN" repo snapshots --repo "$REPO"

# --------------------------------------------------------------------------
# The two servers, the coordinator configuration
# --------------------------------------------------------------------------
MOTO_PORT=$(free_port)
log "starting moto on 127.0.0.1:$MOTO_PORT"
# TMPDIR is the scratch directory: moto keeps objects above 5 MiB in temporary files.
"$PYTHON" -m moto.server -H 127.0.0.1 -p "$MOTO_PORT" >"$WORK/moto.log" 2>&1 &
MOTO_PID=$!
wait_port "$MOTO_PORT" moto "$WORK/moto.log"
S3_URL=http://127.0.0.1:$MOTO_PORT
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench-secret AWS_DEFAULT_REGION=us-east-1
printf '%s\n' "$AWS_SECRET_ACCESS_KEY" >"$WORK/s3.secret"
make_bucket() {
  if command -v aws >/dev/null 2>&1; then
    aws --endpoint-url "$S3_URL" s3 mb "s3://$1" >"$LOGS/mb-$1.out" 2>&1 || { show_log "$LOGS/mb-$1.out" "aws s3 mb"; die "cannot create bucket $1"; }
  else
    "$PYTHON" -c 'import boto3, sys; boto3.client("s3", endpoint_url=sys.argv[1]).create_bucket(Bucket=sys.argv[2])' "$S3_URL" "$1" \
      || die "cannot create bucket $1"
  fi
}
bucket_bytes() { # BUCKET -> total size of its objects
  "$PYTHON" -c '
import boto3, sys
s3 = boto3.client("s3", endpoint_url=sys.argv[1])
total = 0
for page in s3.get_paginator("list_objects_v2").paginate(Bucket=sys.argv[2]):
    total += sum(o["Size"] for o in page.get("Contents", []))
print(total)' "$S3_URL" "$1" 2>/dev/null || echo ""
}
make_bucket bench

DAV_PORT=$(free_port)
log "starting rclone serve webdav on 127.0.0.1:$DAV_PORT ($DAV_DIR)"
rclone serve webdav "$DAV_DIR" --addr "127.0.0.1:$DAV_PORT" --config /dev/null >"$WORK/webdav.log" 2>&1 &
DAV_PID=$!
wait_port "$DAV_PORT" "rclone serve webdav" "$WORK/webdav.log"
cat >"$WORK/rclone.conf" <<EOF
[benchdav]
type = webdav
url = http://127.0.0.1:$DAV_PORT
vendor = other
EOF

# Every rclone process started by sync (and restic) goes through this wrapper, which notes its
# subcommand: a bash start (about 1 ms) on top of each rclone start.
REAL_RCLONE=$(command -v rclone)
: >"$WORK/rclone-calls.log"
cat >"$WORK/bin/rclone" <<EOF
#!/bin/bash
printf '%s\n' "\$1" >>'$WORK/rclone-calls.log'
exec '$REAL_RCLONE' "\$@"
EOF
chmod 755 "$WORK/bin/rclone"
export PATH=$WORK/bin:$PATH

CFG=$WORK/coordinator.yaml
cat >"$CFG" <<EOF
state_dir: $WORK/state
password_file: $PWFILE
repository: $REPO
# Only \`serve\` copies after each backup; off so that only the timed \`sync\` runs copy.
sync:
  after_backup: false
tiers:
  minio:
    s3:
      endpoint: $S3_URL
      bucket: bench
      access_key_id: $AWS_ACCESS_KEY_ID
      secret_access_key_file: $WORK/s3.secret
  offsite:
    rclone:
      remote: "benchdav:zentoria"
      config: $WORK/rclone.conf
EOF

# Cost of one rclone process (start-up, config, one WebDAV PROPFIND): 10 x `lsjson --stat`.
rclone mkdir --config "$WORK/rclone.conf" benchdav:probe
start=$EPOCHREALTIME
for ((i = 0; i < 10; i++)); do
  rclone lsjson --config "$WORK/rclone.conf" --stat benchdav:probe >/dev/null 2>&1 || true
done
R[spawn.ms]=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.0f", (b - a) * 100}')
rclone rmdir --config "$WORK/rclone.conf" benchdav:probe
log "one rclone process (lsjson --stat over WebDAV): ${R[spawn.ms]} ms"

# --------------------------------------------------------------------------
# Syncs
# --------------------------------------------------------------------------
sync_tier() { # KEY TIER
  log "sync --tier $2 ($1)"
  measure_srv "$1.$2" "$LOGS/$1.$2.json" "$BIN" sync --tier "$2" --json --config "$CFG"
  local err
  err=$(json_field "$LOGS/$1.$2.json" error)
  [[ -z $err ]] || die "sync of tier $2 reports: $err"
  R[$1.$2.bytes]=$(json_field "$LOGS/$1.$2.json" bytes_copied)
  R[$1.$2.packs]=$(json_field "$LOGS/$1.$2.json" packs_copied)
  R[$1.$2.snaps]=$(json_field "$LOGS/$1.$2.json" snapshots_copied)
  log "    ${R[$1.$2.snaps]} snapshots, ${R[$1.$2.packs]} packs, $(mb "${R[$1.$2.bytes]}") MB copied: $(rate "${R[$1.$2.bytes]}" "${R[$1.$2.wall]}") MB/s"
}

sync_tier sync1 minio
sync_tier sync1 offsite
[[ ${R[sync1.minio.snaps]} == "$PARTS" && ${R[sync1.offsite.snaps]} == "$PARTS" ]] \
  || die "the first sync copied ${R[sync1.minio.snaps]} / ${R[sync1.offsite.snaps]} snapshots, not $PARTS"

log "small backup: $DELTA_MIB MiB, new component"
gen_data "$WORK/data/delta" "$DELTA_MIB" 999
measure delta "$WORK/data/delta" "$LOGS/delta.out" \
  "$BIN" repo backup --repo "$REPO" --agent bench --component delta
[[ $WITH_RESTIC == 1 ]] || rm -f "$WORK/data/delta"
R[stored2]=$(dusize "$REPO/data")

sync_tier sync2 minio
sync_tier sync2 offsite
sync_tier sync3 minio
sync_tier sync3 offsite
for t in minio offsite; do
  [[ ${R[sync2.$t.snaps]} == 1 ]] || die "the second sync to $t copied ${R[sync2.$t.snaps]} snapshots, not 1"
  [[ ${R[sync3.$t.snaps]} == 0 && ${R[sync3.$t.bytes]} == 0 ]] || die "the sync with nothing new copied something to $t"
done

log "check (structure) of each tier"
measure_srv check.minio "$LOGS/check.minio.out" "$BIN" check --tier minio --config "$CFG"
measure_srv check.offsite "$LOGS/check.offsite.out" "$BIN" check --tier offsite --config "$CFG"
R[s3.bytes]=$(bucket_bytes bench)
R[dav.bytes]=$(dusize "$DAV_DIR/zentoria")
log "tier sizes: tier 1 $(dusize "$REPO") B, minio ${R[s3.bytes]} B, offsite ${R[dav.bytes]} B"

# --------------------------------------------------------------------------
# restic copy of an equivalent repository (same files, same servers)
# --------------------------------------------------------------------------
if [[ $WITH_RESTIC == 1 ]]; then
  R[restic.version]=$(restic version | awk '{print $2}')
  export RESTIC_PASSWORD_FILE=$PWFILE RESTIC_CACHE_DIR=$WORK/restic-cache RCLONE_CONFIG=$WORK/rclone.conf
  RSRC=$WORK/restic
  RS3="s3:$S3_URL/bench-restic"
  RDAV="rclone:benchdav:restic"
  log "restic $(restic version | awk '{print $2}'): init and back up the same files"
  measure restic.init /dev/null "$LOGS/restic.init.out" restic -r "$RSRC" init
  for ((i = 1; i <= PARTS; i++)); do
    measure "restic.backup$i" "$WORK/data/part$i" "$LOGS/restic.backup$i.out" \
      restic -r "$RSRC" backup --stdin --stdin-filename "part$i" --host bench
    rm -f "$WORK/data/part$i"
  done
  make_bucket bench-restic
  for dest in "$RS3" "$RDAV"; do
    restic -r "$dest" init --from-repo "$RSRC" --from-password-file "$PWFILE" --copy-chunker-params \
      >"$LOGS/restic.init-dest.out" 2>&1 || { show_log "$LOGS/restic.init-dest.out" "restic init"; die "restic init of $dest failed"; }
  done
  rcopy() { # KEY DEST
    log "restic copy to $2 ($1)"
    measure_srv "$1" "$LOGS/$1.out" restic -r "$2" copy --from-repo "$RSRC" --from-password-file "$PWFILE"
  }
  rcopy rcopy1.minio "$RS3"
  rcopy rcopy1.offsite "$RDAV"
  measure restic.delta "$WORK/data/delta" "$LOGS/restic.delta.out" \
    restic -r "$RSRC" backup --stdin --stdin-filename delta --host bench
  rm -f "$WORK/data/delta"
  rcopy rcopy2.minio "$RS3"
  rcopy rcopy2.offsite "$RDAV"
  rcopy rcopy3.minio "$RS3"
  rcopy rcopy3.offsite "$RDAV"
  R[restic.stored]=$(dusize "$RSRC/data")
  R[restic.s3.bytes]=$(bucket_bytes bench-restic)
  R[restic.dav.bytes]=$(dusize "$DAV_DIR/restic")
  R[restic.s3.data]=$("$PYTHON" -c '
import boto3, sys
s3 = boto3.client("s3", endpoint_url=sys.argv[1])
print(sum(o["Size"] for p in s3.get_paginator("list_objects_v2").paginate(Bucket="bench-restic", Prefix="data/") for o in p.get("Contents", [])))' "$S3_URL" 2>/dev/null || echo "")
  R[restic.dav.data]=$(dusize "$DAV_DIR/restic/data")
fi

R[moto.hwm]=$(proc_hwm "$MOTO_PID")
R[dav.hwm]=$(proc_hwm "$DAV_PID")

# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------
rev=$(git -C "$REPO_ROOT" describe --always --dirty 2>/dev/null || echo "no commit")
srv() { # KEY TIER -> the server's CPU seconds during the step
  if [[ $2 == minio ]]; then echo "moto ${R[$1.moto]}"; else echo "rclone serve ${R[$1.dav]}"; fi
}
calls() { # KEY TIER -> requests (S3) or rclone processes
  if [[ $2 == minio ]]; then echo "${R[$1.s3req]}"; else echo "${R[$1.spawns]} rclone processes (${R[$1.spawnlist]:-none})"; fi
}
sync_row() { # LABEL KEY TIER
  local k=$2.$3
  echo "| $1 | $3 | $(sec "${R[$k.wall]}") | $(mb "${R[$k.bytes]}") | ${R[$k.packs]} | $(rate "${R[$k.bytes]}" "${R[$k.wall]}") | $(cpu "$k") | $(kib_mib "${R[$k.rss]}") | $(srv "$k" "$3") | $(calls "$k" "$3") |"
}
step_row() { # LABEL KEY TIER
  echo "| $1 | $3 | $(sec "${R[$2.wall]}") | | | | $(cpu "$2") | $(kib_mib "${R[$2.rss]}") | $(srv "$2" "$3") | $(calls "$2" "$3") |"
}
backup_wall=0 backup_cpu=0
for ((i = 1; i <= PARTS; i++)); do
  backup_wall=$(awk -v a="$backup_wall" -v b="${R[backup$i.wall]}" 'BEGIN{print a + b}')
  backup_cpu=$(awk -v a="$backup_cpu" -v u="${R[backup$i.user]}" -v s="${R[backup$i.sys]}" 'BEGIN{print a + u + s}')
done
{
  echo "# Zentoria Backup replication benchmark"
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM, load average at start $LOAD_START"
  echo "- zentoria repository revision: $rev; binary ${BIN#"$REPO_ROOT"/}${BUILD_WALL:+ (release build brought up to date in ${BUILD_WALL} s)}"
  echo "- tier 1: $PARTS backups (one component each) of $PART_MIB MiB of incompressible data (AES-CTR keystream), default chunk sizes, default key derivation (scrypt); $(mib "${R[stored]}") MiB in \`data/\` (${R[packs]} packs, \`du -sb\`), filled at $(rate "$DATA_BYTES" "$backup_wall") MB/s ($(cpu_rate "$DATA_BYTES" "$backup_cpu" 0) MB per CPU-s); then a backup of $DELTA_MIB MiB of new data ($(mib "$((R[stored2] - R[stored]))") MiB more in \`data/\`)"
  echo "- tiers on loopback: \`minio\` = moto $("$PYTHON" -c 'import moto; print(moto.__version__)') (S3, path addressing, bucket made with \`s3 mb\` first), \`offsite\` = rclone $(rclone version | awk 'NR==1{print $2}') \`serve webdav\` of a scratch folder, reached through an rclone \`webdav\` remote (\`vendor = other\`); \`sync: {after_backup: false}\` (it only matters to \`serve\`); one \`sync --tier NAME --json\` per tier and step"
  echo
  echo "| step | tier | wall s | MB copied | packs | MB/s | CPU s (sync) | peak RSS MiB | server CPU s | requests |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---|---|"
  sync_row "**first sync** ($PARTS snapshots)" sync1 minio
  sync_row "**first sync** ($PARTS snapshots)" sync1 offsite
  sync_row "second sync ($DELTA_MIB MiB backup)" sync2 minio
  sync_row "second sync ($DELTA_MIB MiB backup)" sync2 offsite
  sync_row "sync, nothing new" sync3 minio
  sync_row "sync, nothing new" sync3 offsite
  step_row "check (structure) of the tier" check.minio minio
  step_row "check (structure) of the tier" check.offsite offsite
  echo "| \`repo snapshots\` on tier 1 (start-up, key derivation) | local | $(sec "${R[baseline.wall]}") | | | | $(cpu baseline) | $(kib_mib "${R[baseline.rss]}") | | |"
  echo
  echo "Bytes on each tier afterwards: tier 1 $(mib "$(dusize "$REPO")") MiB, minio $(mib "${R[s3.bytes]:-0}") MiB, offsite $(mib "${R[dav.bytes]}") MiB. One rclone process (start-up, config, one WebDAV PROPFIND) takes ${R[spawn.ms]} ms here. Peak RSS of the servers: moto ${R[moto.hwm]} MiB (objects above 5 MiB go to temporary files in the scratch directory), rclone serve ${R[dav.hwm]} MiB."
  if [[ $WITH_RESTIC == 1 ]]; then
    echo
    echo "restic ${R[restic.version]} \`copy --from-repo\` of a restic repository holding the same files (local, $(mib "${R[restic.stored]}") MiB in \`data/\`; destinations made with \`init --copy-chunker-params\`) to the same moto (\`s3:\` backend) and the same WebDAV server (\`rclone:\` backend, one \`rclone serve restic --stdio\`). restic copies blob by blob (decrypted, re-encrypted, repacked) because the destination has its own key; zentoria's tiers share tier 1's key and get the packs byte for byte. Ratio = restic wall / zentoria wall (above 1: zentoria is faster)."
    echo
    echo "| step | tier | restic wall s | CPU s | peak RSS MiB | server CPU s | ratio |"
    echo "|---|---|---:|---:|---:|---|---:|"
    for pair in "first copy:1" "second copy ($DELTA_MIB MiB):2" "nothing new:3"; do
      label=${pair%:*} n=${pair##*:}
      for t in minio offsite; do
        k=rcopy$n.$t
        echo "| $label | $t | $(sec "${R[$k.wall]}") | $(cpu "$k") | $(kib_mib "${R[$k.rss]}") | $(srv "$k" "$t") | $(ratio "${R[$k.wall]}" "${R[sync$n.$t.wall]}") |"
      done
    done
    echo
    echo "restic's destination sizes: minio $(mib "${R[restic.s3.bytes]:-0}") MiB (data/ $(mib "${R[restic.s3.data]:-0}")), offsite $(mib "${R[restic.dav.bytes]}") MiB (data/ $(mib "${R[restic.dav.data]}"))."
  else
    echo
    echo "restic copy: skipped (restic is not installed, or BENCH_RESTIC=0)."
  fi
  echo
  echo "MB = 10^6 bytes, MiB = 2^20 bytes. MB/s = the sync's own \`bytes_copied\` / wall time. CPU s = user + sys of the sync process under \`/usr/bin/time\`, including the rclone processes it starts (offsite); peak RSS is GNU time's %M. Server CPU s = the server process's utime + stime (\`/proc/PID/stat\`) across the step: moto is a Python server, so on S3 its CPU is part of the cost, on the same $(nproc) cores. Requests are moto's access-log lines; for offsite, the rclone processes sync started (counted by a wrapper script). Every step ran once, after \`sync\`; tier 1's packs were in the page cache."
} >"$WORK/report.md"

mkdir -p "$(dirname "$OUT")"
cp "$WORK/report.md" "$OUT"
echo
cat "$WORK/report.md"
echo
log "done in $(($(date +%s) - START)) s; report written to $OUT"
