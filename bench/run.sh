#!/usr/bin/env bash
# Zentoria Backup benchmark: zentoria-coordinator vs restic vs borg on
# PostgreSQL dumps (full mode) or on a long generated stream (stream mode).
#
#   bench/run.sh                 full benchmark (see bench/README.md)
#   bench/run.sh stream [GIB]    stream GIB GiB (default 4) into each tool
#
# Environment (all optional):
#   ZENTORIA_BIN    binary to test (default .build/release/zentoria-coordinator
#                   under the repository root; built with swift if missing)
#   BENCH_TOOLS     comma list out of zentoria,restic,borg (default: all three)
#   BENCH_SCALE     pgbench scale factor (default 20, about 300 MB per dump)
#   BENCH_TX        pgbench transactions for workload A (default 20000)
#   BENCH_CLIENTS   pgbench clients for workload A (default 4)
#   BENCH_FORMATS   comma list out of custom,plain (default: both)
#   BENCH_B_RUNS    workload B runs per tool and format, each in a fresh repository and so
#                   with a fresh chunking secret; "added B" is their mean (default 5)
#   BENCH_FIRST_RUNS  first backups of dump 1 per tool and format, the least time counts
#                     (default and least: one per workload run, 1 + BENCH_B_RUNS; more
#                     runs go into repositories of their own)
#   BENCH_OUT       markdown report file (default bench/results-DATE.md)
#   BENCH_TMPDIR    where the scratch directory is created (default $TMPDIR or /tmp)
#   BENCH_KEEP      1 = keep the scratch directory (logs, dumps) for inspection
#   BENCH_PGBIN     PostgreSQL binaries (default /usr/lib/postgresql/15/bin)
#   BENCH_STREAM_FILE  stream mode: repeat this file instead of the generator
set -Eeuo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/.." && pwd)

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf 'run.sh: ERROR: %s\n' "$*" >&2; exit 1; }
trap 'printf "run.sh: command failed at line %s: %s\n" "$LINENO" "$BASH_COMMAND" >&2' ERR

usage() {
  # The comment block at the top of this file, up to `set -E...`.
  sed -n '2,/^set -E/{/^#/s/^# \{0,1\}//p}' "${BASH_SOURCE[0]}"
}

# --------------------------------------------------------------------------
# Arguments and settings
# --------------------------------------------------------------------------
MODE=full
STREAM_GIB=4
case "${1:-}" in
  ""|full) ;;
  stream) MODE=stream; STREAM_GIB=${2:-4} ;;
  -h|--help|help) usage; exit 0 ;;
  *) usage >&2; die "unknown mode '$1' (expected: full or stream [GIB])" ;;
esac

SCALE=${BENCH_SCALE:-20}
TX=${BENCH_TX:-20000}
CLIENTS=${BENCH_CLIENTS:-4}
B_RUNS=${BENCH_B_RUNS:-5}
FIRST_RUNS=${BENCH_FIRST_RUNS:-}
TOOLS_CSV=${BENCH_TOOLS:-zentoria,restic,borg}
FORMATS_CSV=${BENCH_FORMATS:-custom,plain}
PGBIN=${BENCH_PGBIN:-/usr/lib/postgresql/15/bin}
STAMP=$(date +%Y%m%d-%H%M%S)
if [[ $MODE == stream ]]; then
  OUT=${BENCH_OUT:-$SCRIPT_DIR/results-stream-$STAMP.md}
else
  OUT=${BENCH_OUT:-$SCRIPT_DIR/results-$STAMP.md}
fi

DEFAULT_BIN=$REPO_ROOT/.build/release/zentoria-coordinator
if [[ -n ${ZENTORIA_BIN:-} ]]; then
  case $ZENTORIA_BIN in
    /*) BIN=$ZENTORIA_BIN ;;
    *) BIN=$REPO_ROOT/$ZENTORIA_BIN ;;
  esac
else
  BIN=$DEFAULT_BIN
fi

[[ $SCALE =~ ^[1-9][0-9]*$ ]] || die "BENCH_SCALE must be a positive integer (got '$SCALE')"
[[ $TX =~ ^[1-9][0-9]*$ ]] || die "BENCH_TX must be a positive integer (got '$TX')"
[[ $B_RUNS =~ ^[1-9][0-9]{0,2}$ ]] || die "BENCH_B_RUNS must be an integer from 1 to 999 (got '$B_RUNS')"
FIRST_RUNS=${FIRST_RUNS:-$((1 + B_RUNS))}
[[ $FIRST_RUNS =~ ^[1-9][0-9]{0,3}$ ]] && ((FIRST_RUNS >= 1 + B_RUNS)) \
  || die "BENCH_FIRST_RUNS must be an integer from 1 + BENCH_B_RUNS = $((1 + B_RUNS)) to 9999 (got '$FIRST_RUNS')"
[[ $CLIENTS =~ ^[1-9][0-9]*$ ]] || die "BENCH_CLIENTS must be a positive integer (got '$CLIENTS')"
[[ $STREAM_GIB =~ ^[0-9]+([.][0-9]+)?$ ]] && awk -v g="$STREAM_GIB" 'BEGIN{exit !(g > 0)}' \
  || die "stream size must be a positive number of GiB (got '$STREAM_GIB')"

TOOLS=()
for t in zentoria restic borg; do
  [[ ",$TOOLS_CSV," == *",$t,"* ]] && TOOLS+=("$t")
done
for t in ${TOOLS_CSV//,/ }; do
  case $t in zentoria|restic|borg) ;; *) die "unknown tool '$t' in BENCH_TOOLS (use zentoria,restic,borg)" ;; esac
done
((${#TOOLS[@]})) || die "BENCH_TOOLS selects no tool"
FORMATS=()
for f in custom plain; do
  [[ ",$FORMATS_CSV," == *",$f,"* ]] && FORMATS+=("$f")
done
for f in ${FORMATS_CSV//,/ }; do
  case $f in custom|plain) ;; *) die "unknown format '$f' in BENCH_FORMATS (use custom,plain)" ;; esac
done
((${#FORMATS[@]})) || die "BENCH_FORMATS selects no format"

has_tool() { [[ " ${TOOLS[*]} " == *" $1 "* ]]; }

# --------------------------------------------------------------------------
# Prerequisites
# --------------------------------------------------------------------------
ensure_packages() {
  local pkgs=()
  [[ -x /usr/bin/time ]] || pkgs+=(time)
  if [[ $MODE == full ]]; then
    command -v zstd >/dev/null 2>&1 || pkgs+=(zstd)
    [[ -x $PGBIN/initdb && -x $PGBIN/pg_ctl && -x $PGBIN/pgbench && -x $PGBIN/pg_dump ]] || pkgs+=(postgresql)
  fi
  if has_tool restic; then command -v restic >/dev/null 2>&1 || pkgs+=(restic); fi
  if has_tool borg; then command -v borg >/dev/null 2>&1 || pkgs+=(borgbackup); fi
  ((${#pkgs[@]})) || return 0
  [[ $EUID -eq 0 ]] || die "missing packages: ${pkgs[*]} (run as root, or install them first)"
  command -v apt-get >/dev/null 2>&1 || die "missing packages: ${pkgs[*]} and no apt-get to install them"
  log "installing missing packages: ${pkgs[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -q || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${pkgs[@]}" || die "apt-get install ${pkgs[*]} failed"
  if [[ " ${pkgs[*]} " == *" postgresql "* ]]; then
    [[ -x $PGBIN/initdb ]] || die "postgresql installed but $PGBIN/initdb is missing (set BENCH_PGBIN)"
  fi
}

ensure_zentoria() {
  has_tool zentoria || return 0
  [[ -x $BIN ]] && return 0
  [[ -e $BIN ]] && die "zentoria binary $BIN exists but is not executable"
  local hint="set ZENTORIA_BIN, or BENCH_TOOLS=restic,borg to benchmark without zentoria"
  [[ $BIN == "$DEFAULT_BIN" ]] || die "zentoria binary not found: $BIN ($hint)"
  command -v swift >/dev/null 2>&1 || die "zentoria binary not found: $BIN and swift is not installed ($hint)"
  log "zentoria binary missing; building: swift build -c release --product zentoria-coordinator"
  (cd "$REPO_ROOT" && swift build -c release --product zentoria-coordinator) \
    || die "swift build failed ($hint)"
  [[ -x $BIN ]] || die "swift build finished but $BIN does not exist ($hint)"
}

ensure_packages
ensure_zentoria

# --------------------------------------------------------------------------
# Scratch directory, cleanup
# --------------------------------------------------------------------------
BASE_TMP=${BENCH_TMPDIR:-${TMPDIR:-/tmp}}
mkdir -p "$BASE_TMP"
WORK=$(mktemp -d "$BASE_TMP/zentoria-bench.XXXXXX")
LOGS=$WORK/logs
mkdir -p "$LOGS" "$WORK/dumps" "$WORK/repos" "$WORK/cache" "$WORK/tmp" "$WORK/xdg/cache" "$WORK/xdg/config"
PGROOT=$WORK/pg
PGDATA=$PGROOT/data
PGSOCK=$PGROOT/sock
PG_STARTED=0

as_pg() {
  if [[ $EUID -eq 0 ]]; then
    (cd "$PGROOT" && runuser -u postgres -- "$@")
  else
    (cd "$PGROOT" && "$@")
  fi
}

cleanup() {
  local rc=$?
  set +e
  trap - ERR
  if ((PG_STARTED)); then
    as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -m immediate -w stop >/dev/null 2>&1
  fi
  if [[ ${BENCH_KEEP:-0} == 1 ]]; then
    log "keeping scratch directory $WORK"
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT
trap 'log "terminated"; exit 143' TERM

# Keep every tool's cache, config and temp files inside the scratch directory.
export TMPDIR=$WORK/tmp
export XDG_CACHE_HOME=$WORK/xdg/cache XDG_CONFIG_HOME=$WORK/xdg/config
export BORG_BASE_DIR=$WORK/cache/borg
export BORG_RELOCATED_REPO_ACCESS_IS_OK=yes BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes
PWFILE=$WORK/password
printf 'zentoria-bench-passphrase-0123456789\n' >"$PWFILE"
chmod 600 "$PWFILE"
export ZENTORIA_PASSWORD_FILE=$PWFILE RESTIC_PASSWORD_FILE=$PWFILE
BORG_PASSPHRASE=$(head -n 1 "$PWFILE")
export BORG_PASSPHRASE
RESTIC_CACHE=$WORK/cache/restic

# --------------------------------------------------------------------------
# Measurement helpers
# --------------------------------------------------------------------------
BENCH_NAME=run.sh
# shellcheck source=bench/lib.sh
source "$SCRIPT_DIR/lib.sh"
json_num() { # FIELD FILE -> first numeric value of "FIELD": N
  sed -n "s/.*\"$1\"[[:space:]]*:[[:space:]]*\([0-9][0-9.eE+-]*\).*/\1/p" "$2" | head -n 1
}

# set_cmd TOOL ACTION REPO [ARCHIVE] -> fills the array CMD
set_cmd() {
  local tool=$1 action=$2 repo=$3 name=${4:-}
  case $tool/$action in
    zentoria/init)    CMD=("$BIN" repo init --repo "$repo") ;;
    zentoria/backup)  CMD=("$BIN" repo backup --repo "$repo" --agent bench --component pg --json) ;;
    zentoria/restore) CMD=("$BIN" repo restore --repo "$repo" latest --agent bench --component pg) ;;
    zentoria/check)   CMD=("$BIN" repo check --repo "$repo" --read-data) ;;
    restic/init)      CMD=(restic -r "$repo" --cache-dir "$RESTIC_CACHE" init --repository-version 2) ;;
    restic/backup)    CMD=(restic -r "$repo" --cache-dir "$RESTIC_CACHE" backup --host bench --stdin --stdin-filename dump) ;;
    restic/restore)   CMD=(restic -r "$repo" --cache-dir "$RESTIC_CACHE" dump latest dump) ;;
    restic/check)     CMD=(restic -r "$repo" --cache-dir "$RESTIC_CACHE" check --read-data) ;;
    borg/init)        CMD=(borg init -e repokey-blake2 "$repo") ;;
    borg/backup)      CMD=(borg create --compression zstd,3 "$repo::$name" -) ;;
    borg/restore)     CMD=(borg extract --stdout "$repo::$name") ;;
    borg/check)       CMD=(borg check --verify-data "$repo") ;;
    *) die "internal: no command for $tool/$action" ;;
  esac
}

tool_version() {
  case $1 in
    zentoria) printf '%s' "${BIN#"$REPO_ROOT"/}" ;;
    restic) restic version 2>/dev/null | head -n 1 | awk '{print $1" "$2}' ;;
    borg) borg --version 2>/dev/null | head -n 1 ;;
  esac
}

report_header() {
  local rev
  rev=$(git -C "$REPO_ROOT" describe --always --dirty 2>/dev/null || echo "no commit")
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM"
  echo "- zentoria repository revision: $rev"
  local t
  for t in "${TOOLS[@]}"; do echo "- $t: $(tool_version "$t")"; done
}

# ==========================================================================
# Stream mode
# ==========================================================================
write_generator() { # -> $WORK/gen.pl
  cat >"$WORK/gen.pl" <<'PERL'
# Emits exactly N bytes of deterministic, compressible, non-repeating data:
# a 16 MiB seed of table-like text lines, read at shifting offsets, with a
# unique 16-byte counter stamped every 4 KiB so that no chunk can dedup.
use strict; use warnings;
my $total = shift; die "usage: gen.pl BYTES\n" unless defined $total;
my $seedsize = 16 << 20;
srand(20240601);
my @w = qw(account payment invoice customer order delivery north south east west
  warehouse transfer pending settled credit debit branch teller balance refund
  shipment priority standard express return service contract renewal discount
  premium basic monthly annual quarterly review approved rejected escalated
  note memo internal external partner supplier vendor product item quantity
  price total subtotal tax shipping handling insurance claim policy region
  city street avenue building floor suite office remote online retail
  wholesale batch lot serial model version update change request ticket);
my ($seed, $id) = ('', 0);
while (length($seed) < $seedsize) {
  $id++;
  my $text = join(' ', map { $w[int(rand() ** 2 * @w)] } 1 .. 8 + int(rand(8)));
  $seed .= join("\t", $id, 1 + int(rand(20)), int(rand(2000000)) - 1000000,
                $text, sprintf('%08x', int(rand(4294967296)))) . "\n";
}
$seed = substr($seed, 0, $seedsize);
my $dbl = $seed . $seed;
my ($blk, $stride, $off, $ctr) = (1 << 20, 4096, 0, 0);
binmode STDOUT;
while ($total > 0) {
  my $n = $total < $blk ? $total : $blk;
  my $buf = substr($dbl, $off, $n);
  for (my $k = 0; $k + 16 <= $n; $k += $stride) {
    substr($buf, $k, 16, sprintf('%016x', $ctr++));
  }
  my $done = 0;
  while ($done < $n) {
    my $r = syswrite(STDOUT, $buf, $n - $done, $done);
    die "write: $!\n" unless defined $r;
    $done += $r;
  }
  $total -= $n;
  $off = ($off + 7340033) % $seedsize;
}
PERL
}

stream_source() { # BYTES -> stdout
  if [[ -n ${BENCH_STREAM_FILE:-} ]]; then
    # `head` closing the pipe ends the loop; hide the resulting EPIPE noise.
    (while cat "$BENCH_STREAM_FILE"; do :; done) 2>/dev/null | head -c "$1"
  else
    perl "$WORK/gen.pl" "$1"
  fi
}

run_stream() {
  local bytes gen_bytes tool repo key rc name
  bytes=$(awk -v g="$STREAM_GIB" 'BEGIN{printf "%.0f", g * 1073741824}')
  if [[ -n ${BENCH_STREAM_FILE:-} ]]; then
    [[ -s $BENCH_STREAM_FILE ]] || die "BENCH_STREAM_FILE '$BENCH_STREAM_FILE' is missing or empty"
  else
    write_generator
  fi
  # How fast is the source alone? It must not be the bottleneck, and on a
  # small machine its CPU time is taken from the tool under test.
  gen_bytes=$bytes
  log "measuring the data source alone ($(mib "$gen_bytes") MiB through a pipe)"
  export -f stream_source
  export WORK BENCH_STREAM_FILE="${BENCH_STREAM_FILE:-}"
  measure stream.source /dev/null /dev/null bash -c 'stream_source "$1" | cat >/dev/null' _ "$gen_bytes"
  local src_rate src_cpu
  src_rate=$(rate "$gen_bytes" "$M_WALL")
  src_cpu=$(awk -v u="$M_USER" -v s="$M_SYS" 'BEGIN{printf "%.1f", u + s}')

  for tool in "${TOOLS[@]}"; do
    repo=$WORK/repos/stream-$tool
    mkdir -p "$repo"
    log "$tool: stream of $STREAM_GIB GiB"
    set_cmd "$tool" init "$repo"
    measure "stream.$tool.init" /dev/null "$LOGS/stream.$tool.init.out" "${CMD[@]}"
    name=stream
    set_cmd "$tool" backup "$repo" "$name"
    key=stream.$tool.backup
    sync
    rc=0
    stream_source "$bytes" | /usr/bin/time -f '%e %U %S %M' -o "$LOGS/$key.time" \
      "${CMD[@]}" >"$LOGS/$key.out" 2>"$LOGS/$key.stderr" || rc=$?
    if ((rc != 0)); then
      printf 'run.sh: ERROR: step %s failed (exit %s): %s\n' "$key" "$rc" "${CMD[*]}" >&2
      show_log "$LOGS/$key.stderr" "stderr"
      show_log "$LOGS/$key.out" "stdout"
      exit 1
    fi
    read -r M_WALL M_USER M_SYS M_RSS < <(tail -n 1 "$LOGS/$key.time")
    R[$key.wall]=$M_WALL R[$key.user]=$M_USER R[$key.sys]=$M_SYS R[$key.rss]=$M_RSS
    R[$key.repo]=$(dusize "$repo")
    if [[ $tool == zentoria ]]; then
      local zb
      zb=$(json_num bytes "$LOGS/$key.out")
      [[ -z $zb || $zb == "$bytes" ]] || log "  WARNING: zentoria reports bytes=$zb, expected $bytes"
    fi
    log "  $key: ${M_WALL}s wall, $((M_RSS / 1024)) MiB RSS"
    rm -rf "$repo"
  done

  {
    echo "# Zentoria Backup stream benchmark"
    echo
    report_header
    echo "- input: $STREAM_GIB GiB ($bytes bytes) of $( [[ -n ${BENCH_STREAM_FILE:-} ]] && echo "a file repeated" || echo "generated compressible, non-repeating data"), piped to the backup command's stdin"
    echo "- data source alone: $src_rate MB/s through a pipe, $src_cpu CPU-s for the whole stream (that CPU time is shared with the tool during the run)"
    echo
    echo "| tool | wall s | MB/s | user s | sys s | MB per CPU-s | peak RSS MiB | repo MiB | RSS < 256 MiB |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|:---:|"
    for tool in "${TOOLS[@]}"; do
      key=stream.$tool.backup
      local rss_mib ok
      rss_mib=$(awk -v k="${R[$key.rss]}" 'BEGIN{printf "%.0f", k/1024}')
      ok=$(awk -v k="${R[$key.rss]}" 'BEGIN{print (k < 262144 ? "yes" : "NO")}')
      echo "| $tool | ${R[$key.wall]} | $(rate "$bytes" "${R[$key.wall]}") | ${R[$key.user]} | ${R[$key.sys]} | $(cpu_rate "$bytes" "${R[$key.user]}" "${R[$key.sys]}") | $rss_mib | $(mib "${R[$key.repo]}") | $ok |"
    done
    echo
    echo "MB = 10^6 bytes; MiB = 2^20 bytes. Peak RSS is the backup process's maximum resident set (GNU time %M)."
  } >"$WORK/report.md"
}

# ==========================================================================
# Full mode: PostgreSQL dataset
# ==========================================================================
free_port() {
  local p
  for ((p = 54329; p < 54529; p++)); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return 0
    fi
  done
  die "no free TCP port found in 54329-54528"
}

start_postgres() {
  mkdir -p "$PGROOT" "$PGSOCK"
  if [[ $EUID -eq 0 ]]; then
    id postgres >/dev/null 2>&1 || die "user 'postgres' does not exist (is the postgresql package installed?)"
    chmod 711 "$WORK"
    chown -R postgres: "$PGROOT"
    runuser -u postgres -- test -w "$PGROOT" \
      || die "user postgres cannot write to $PGROOT; choose another BENCH_TMPDIR"
  fi
  PGPORT=$(free_port)
  log "initdb + start PostgreSQL 15 on 127.0.0.1:$PGPORT (socket in scratch dir)"
  as_pg "$PGBIN/initdb" -D "$PGDATA" -U postgres -A trust -E UTF8 --no-locale >"$LOGS/initdb.log" 2>&1 \
    || { show_log "$LOGS/initdb.log" "initdb output"; die "initdb failed"; }
  cat >>"$PGDATA/postgresql.conf" <<EOF

# scratch cluster for bench/run.sh
listen_addresses = '127.0.0.1'
port = $PGPORT
unix_socket_directories = '$PGSOCK'
fsync = off
synchronous_commit = off
full_page_writes = off
autovacuum = off
shared_buffers = '256MB'
maintenance_work_mem = '256MB'
max_wal_size = '8GB'
checkpoint_timeout = '1h'
EOF
  PG_STARTED=1
  as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -l "$PGROOT/postgres.log" -w -t 120 start >"$LOGS/pg_ctl.log" 2>&1 \
    || { show_log "$PGROOT/postgres.log" "postgres log"; show_log "$LOGS/pg_ctl.log" "pg_ctl output"; die "PostgreSQL did not start"; }
  export PGHOST=$PGSOCK PGPORT PGUSER=postgres PGDATABASE=postgres
}

psql_run() { # LOGNAME DB  (SQL on stdin)
  "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$2" -f - >"$LOGS/$1.log" 2>&1 \
    || { show_log "$LOGS/$1.log" "psql output"; die "SQL step '$1' failed"; }
}

pgbench_run() { # LOGNAME ARGS...
  local name=$1; shift
  "$PGBIN/pgbench" "$@" >"$LOGS/$name.log" 2>&1 \
    || { show_log "$LOGS/$name.log" "pgbench output"; die "pgbench step '$name' failed"; }
}

# SQL expression yielding non-blank, text-like content of exactly WIDTH chars:
# skewed random words from the array column c.w, with hex ids and numbers.
filler_expr() {
  local width=$1 i terms=()
  for ((i = 1; i <= 20; i++)); do
    case $((i % 7)) in
      3) terms+=("substr(md5(random()::text), 1, 8)") ;;
      6) terms+=("(random() * 99999)::int::text") ;;
      *) terms+=("c.w[1 + floor(power(random(), 2) * cardinality(c.w))::int]") ;;
    esac
  done
  local IFS=,
  printf "left(concat_ws(' ', %s), %s)" "${terms[*]}" "$width"
}

WORDS_SQL="(SELECT ARRAY['account','payment','invoice','customer','order','delivery','north',
 'south','east','west','warehouse','transfer','pending','settled','credit','debit','branch',
 'teller','balance','refund','shipment','priority','standard','express','return','service',
 'contract','renewal','discount','premium','basic','monthly','annual','quarterly','review',
 'approved','rejected','escalated','note','memo','internal','external','partner','supplier',
 'vendor','product','item','quantity','price','total','subtotal','tax','shipping','handling',
 'insurance','claim','policy','region','city','street','avenue','building','floor','suite',
 'office','remote','online','retail','wholesale','batch','lot','serial','model','version',
 'update','change','request','ticket','Berlin','Lisbon','Oslo','Madrid','Vienna','Prague',
 'Dublin','Zurich','Warsaw','Athens','Rome','Paris','Amsterdam','Brussels','Helsinki',
 'Stockholm','Copenhagen','Budapest','Tallinn','Riga','Vilnius','Sofia']::text[] AS w) AS c"

build_dataset() {
  local naccounts=$((SCALE * 100000))
  log "dataset: pgbench schema, scale $SCALE ($naccounts accounts) with text filler"
  psql_run createdb postgres <<<"CREATE DATABASE bench;"
  # Same schema and rows as `pgbench -i -s SCALE`, but the blank-padded filler
  # columns get realistic text. Rows are inserted in key order in one pass, so
  # the heap is already what `UPDATE filler` + VACUUM FULL would leave.
  pgbench_run pgbench-init-tables -i -I dt bench
  psql_run load bench <<EOF
SELECT setseed(0.20240601);
INSERT INTO pgbench_branches (bid, bbalance, filler)
  SELECT bid, 0, $(filler_expr 88) FROM generate_series(1, $SCALE) AS bid, $WORDS_SQL;
INSERT INTO pgbench_tellers (tid, bid, tbalance, filler)
  SELECT tid, (tid - 1) / 10 + 1, 0, $(filler_expr 84) FROM generate_series(1, $((SCALE * 10))) AS tid, $WORDS_SQL;
INSERT INTO pgbench_accounts (aid, bid, abalance, filler)
  SELECT aid, (aid - 1) / 100000 + 1, 0, $(filler_expr 84) FROM generate_series(1, $naccounts) AS aid, $WORDS_SQL;
EOF
  pgbench_run pgbench-init-keys -i -I vp bench
  psql_run checkpoint postgres <<<"CHECKPOINT;"
  # Frozen copy of the dump-1 state for workload B (file-level copy keeps the
  # physical row order).
  psql_run copydb postgres <<<"CREATE DATABASE bench_b TEMPLATE bench;"
}

# dump_all N DB: writes dump N in every selected format
dump_all() {
  local n=$1 db=$2 f file
  for f in "${FORMATS[@]}"; do
    file=$(dump_path "$f" "$n")
    if [[ $f == custom ]]; then
      measure "pgdump.$f.$n" /dev/null /dev/null "$PGBIN/pg_dump" -Fc -Z0 -f "$file" "$db"
    else
      measure "pgdump.$f.$n" /dev/null /dev/null "$PGBIN/pg_dump" -f "$file" "$db"
    fi
    R[size.$f.$n]=$(fsize "$file")
  done
}
dump_path() { if [[ $1 == custom ]]; then echo "$WORK/dumps/dump$2.dump"; else echo "$WORK/dumps/dump$2.sql"; fi; }

make_dumps() {
  log "dump 1 (initial state)"
  dump_all 1 bench
  log "workload A: $TX pgbench tpcb-like transactions, $CLIENTS clients"
  pgbench_run workload-a -n -c "$CLIENTS" -j $((CLIENTS < 2 ? CLIENTS : 2)) -t $(((TX + CLIENTS - 1) / CLIENTS)) --random-seed=42 bench
  log "dump 2 (after workload A)"
  dump_all 2 bench
  # Put the dump-1 copy under the same database name, so dump headers match.
  psql_run swapdb postgres <<<"ALTER DATABASE bench RENAME TO bench_a; ALTER DATABASE bench_b RENAME TO bench;"
  local n=$((SCALE * 100000))
  local ins=$((n * 2 / 100)) upd=$((n / 100)) from=$((n / 2))
  log "workload B: insert $ins accounts at the end, update aid $from..$((from + upd - 1))"
  psql_run workload-b bench <<EOF
SELECT setseed(0.77);
INSERT INTO pgbench_accounts (aid, bid, abalance, filler)
  SELECT aid, (aid - 1) % $SCALE + 1, 0, $(filler_expr 84)
  FROM generate_series($((n + 1)), $((n + ins))) AS aid, $WORDS_SQL;
UPDATE pgbench_accounts SET abalance = abalance + (random() * 10000)::int - 5000
  WHERE aid BETWEEN $from AND $((from + upd - 1));
EOF
  log "dump 3 (after workload B)"
  dump_all 3 bench
  local f
  for f in "${FORMATS[@]}"; do
    R[sha.$f.2]=$(sha256sum <"$(dump_path "$f" 2)" | cut -d' ' -f1)
    log "zstd -3 reference for dump 2 ($f)"
    measure "zstd.$f" "$(dump_path "$f" 2)" "$WORK/tmp/zstd.out" zstd -3 -T1 -q -c
    R[zstd.$f]=$(fsize "$WORK/tmp/zstd.out")
    rm -f "$WORK/tmp/zstd.out"
  done
}

# ==========================================================================
# Full mode: tool runs
# ==========================================================================
warm() { cat "$1" >/dev/null; }

# first_backup FORMAT RUN TOOL REPO: init a fresh REPO and back dump 1 up into it (steps
# FORMAT.RUN.TOOL.init and .backup1).
first_backup() {
  local f=$1 run=$2 tool=$3 repo=$4 p=$1.$2.$3
  rm -rf "$repo"
  mkdir -p "$repo"
  set_cmd "$tool" init "$repo"
  measure "$p.init" /dev/null "$LOGS/$p.init.out" "${CMD[@]}"
  warm "$(dump_path "$f" 1)"
  set_cmd "$tool" backup "$repo" b1
  measure "$p.backup1" "$(dump_path "$f" 1)" "$LOGS/$p.backup1.out" "${CMD[@]}"
  R[$p.du1]=$(dusize "$repo")
}

# run_workload FORMAT WORKLOAD TOOL: WORKLOAD is A, or Bn for the n-th run of workload B.
run_workload() {
  local f=$1 wl=$2 tool=$3
  local repo=$WORK/repos/$f-$wl-$tool p=$f.$wl.$tool
  local d2 second
  if [[ $wl == A ]]; then second=2; else second=3; fi
  d2=$(dump_path "$f" "$second")
  log "$tool, $f format, workload $wl"
  first_backup "$f" "$wl" "$tool" "$repo"
  if [[ $tool == zentoria ]]; then
    local zb
    zb=$(json_num bytes "$LOGS/$p.backup1.out")
    [[ -z $zb || $zb == "${R[size.$f.1]}" ]] \
      || log "  WARNING: zentoria reports bytes=$zb for a ${R[size.$f.1]}-byte input"
  fi

  warm "$d2"
  set_cmd "$tool" backup "$repo" b2
  measure "$p.backup2" "$d2" "$LOGS/$p.backup2.out" "${CMD[@]}"
  R[$p.du2]=$(dusize "$repo")
  if [[ $tool == zentoria ]]; then
    R[$p.own_added]=$(json_num bytes_added "$LOGS/$p.backup2.out")
    [[ -n ${R[$p.own_added]} ]] || log "  WARNING: no bytes_added in zentoria's JSON output"
    R[$p.own_dur1]=$(json_num duration_seconds "$LOGS/$p.backup1.out")
    R[$p.own_dur2]=$(json_num duration_seconds "$LOGS/$p.backup2.out")
  fi

  if [[ $wl == A ]]; then
    set_cmd "$tool" restore "$repo" b2
    measure "$p.restore" /dev/null /dev/null "${CMD[@]}"
    # Correctness, outside the timing: the restored bytes equal dump 2.
    local got
    got=$("${CMD[@]}" 2>"$LOGS/$p.verify.stderr" </dev/null | sha256sum | cut -d' ' -f1) \
      || { show_log "$LOGS/$p.verify.stderr" "stderr"; die "$tool restore for verification failed"; }
    [[ $got == "${R[sha.$f.2]}" ]] \
      || die "$tool: restored data differs from dump 2 ($f): sha256 $got, expected ${R[sha.$f.2]}"
    log "  restore verified (sha256 matches dump 2)"
    set_cmd "$tool" check "$repo"
    measure "$p.check" /dev/null "$LOGS/$p.check.out" "${CMD[@]}"
  fi
  rm -rf "$repo"
}

# extra_first_backup FORMAT RUN TOOL: one more first backup of dump 1 into a repository of its
# own (steps FORMAT.xRUN.TOOL.*), so the first-backup figures take the least of FIRST_RUNS runs.
extra_first_backup() {
  local repo=$WORK/repos/$1-x$2-$3
  log "$3, $1 format, extra first backup $2"
  first_backup "$1" "x$2" "$3" "$repo"
  rm -rf "$repo"
}

# The workload labels of every first backup of a format and tool: A, B1..Bk (k = B_RUNS),
# then xN for extra runs N = k + 2 .. FIRST_RUNS.
b_runs() { local n; for ((n = 1; n <= B_RUNS; n++)); do echo "B$n"; done; }
first_runs() {
  local n
  echo A
  b_runs
  for ((n = B_RUNS + 2; n <= FIRST_RUNS; n++)); do echo "x$n"; done
}

min_of() { printf '%s\n' "$@" | grep . | sort -g | head -n 1; }
median_of() { printf '%s\n' "$@" | grep . | sort -g | awk '{ a[NR] = $1 } END { printf "%.1f", (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
mean_of() { printf '%s\n' "$@" | grep . | awk '{ s += $1 } END { if (NR) printf "%.0f", s / NR; else print 0 }'; }
# own_added_b FORMAT -> mean of zentoria's own bytes_added over the workload B runs that reported it
own_added_b() {
  local b values=()
  for b in $(b_runs); do values+=("${R[$1.$b.zentoria.own_added]:-}"); done
  mean_of "${values[@]}"
}
min_cpu() { # step keys -> "user sys" of the step with the least user+sys
  local k best="" bu bs
  for k in "$@"; do
    [[ -n ${R[$k.user]:-} ]] || continue
    if [[ -z $best ]] || awk -v a="${R[$k.user]}" -v b="${R[$k.sys]}" -v c="$bu" -v d="$bs" 'BEGIN { exit !(a + b < c + d) }'; then
      best=$k bu=${R[$k.user]} bs=${R[$k.sys]}
    fi
  done
  echo "$bu $bs"
}

max_rss_mib() { # prefix -> max RSS over the prefix's steps, MiB
  local p=$1 k max=0
  for k in init backup1 backup2 restore check; do
    local v=${R[$p.$k.rss]:-0}
    ((v > max)) && max=$v
  done
  awk -v k="$max" 'BEGIN{printf "%.0f", k/1024}'
}

write_report() {
  local f tool pa s1 s2 s3 run
  {
    echo "# Zentoria Backup benchmark"
    echo
    report_header
    echo "- dataset: pgbench scale $SCALE with text filler; workload A = $TX tpcb-like transactions ($CLIENTS clients, scattered changes); workload B = +2% accounts appended and a contiguous 1% of accounts updated (concentrated changes)"
    if ! has_tool zentoria; then
      echo "- **zentoria skipped** (not in BENCH_TOOLS): its rows and the ratio rows are absent"
    fi
    echo
    echo "## Dumps"
    echo
    echo "| file | $(for f in "${FORMATS[@]}"; do printf '%s MB | ' "$( [[ $f == custom ]] && echo 'pg_dump -Fc -Z0' || echo 'plain pg_dump')"; done | sed 's/ | $//') |"
    echo "|---|$(for f in "${FORMATS[@]}"; do printf -- '---:|'; done)"
    local n label
    for n in 1 2 3; do
      case $n in 1) label="dump 1 (initial)" ;; 2) label="dump 2 (after workload A)" ;; 3) label="dump 3 (after workload B)" ;; esac
      printf '| %s |' "$label"
      for f in "${FORMATS[@]}"; do printf ' %s |' "$(mb "${R[size.$f.$n]}")"; done
      echo
    done
    printf '| zstd -3 of dump 2 (nothing-dedups reference) |'
    for f in "${FORMATS[@]}"; do
      printf ' %s (%sx, %s MiB) |' "$(mb "${R[zstd.$f]}")" "$(ratio "${R[size.$f.2]}" "${R[zstd.$f]}")" "$(mib "${R[zstd.$f]}")"
    done
    echo
    printf '| zstd -3 -T1 speed, MB/s |'
    for f in "${FORMATS[@]}"; do printf ' %s |' "$(rate "${R[size.$f.2]}" "${R[zstd.$f.wall]}")"; done
    echo
    echo
    echo "## Results"
    echo
    echo "| tool | format | 1st backup MB/s | 1st backup MB/CPU-s | 2nd backup A MB/s | 2nd backup B MB/s | added A MiB | added B MiB | restore MB/s | check --read-data MB/s | peak RSS MiB |"
    echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    for f in "${FORMATS[@]}"; do
      s1=${R[size.$f.1]} s2=${R[size.$f.2]} s3=${R[size.$f.3]}
      for tool in "${TOOLS[@]}"; do
        pa=$f.A.$tool
        # Dump 1 is backed up FIRST_RUNS times into a fresh repository (workload A, each run
        # of workload B, then extra runs): the least time counts, for every tool, as
        # background noise only ever slows a run down.
        local w1 u1 s1cpu walls=() keys=() added=()
        for run in $(first_runs); do
          walls+=("${R[$f.$run.$tool.backup1.wall]:-}")
          keys+=("$f.$run.$tool.backup1")
        done
        w1=$(min_of "${walls[@]}")
        read -r u1 s1cpu < <(min_cpu "${keys[@]}")
        R[$f.$tool.c1]=$(rate "$s1" "$w1")
        R[$f.$tool.c2]=$(cpu_rate "$s1" "$u1" "$s1cpu")
        R[$f.$tool.c3]=$(rate "$s2" "${R[$pa.backup2.wall]}")
        walls=() added=()
        for run in $(b_runs); do
          walls+=("${R[$f.$run.$tool.backup2.wall]}")
          added+=($((${R[$f.$run.$tool.du2]} - ${R[$f.$run.$tool.du1]})))
        done
        R[$f.$tool.c4]=$(rate "$s3" "$(min_of "${walls[@]}")")
        R[$f.$tool.addedB]=${added[*]}
        R[$f.$tool.c5]=$(mib $((${R[$pa.du2]} - ${R[$pa.du1]})))
        R[$f.$tool.c6]=$(mib "$(mean_of "${added[@]}")")
        R[$f.$tool.c7]=$(rate "$s2" "${R[$pa.restore.wall]}")
        R[$f.$tool.c8]=$(rate "${R[$pa.du2]}" "${R[$pa.check.wall]}")
        local rss peak=0
        for run in $(first_runs); do
          rss=$(max_rss_mib "$f.$run.$tool")
          ((rss > peak)) && peak=$rss
        done
        R[$f.$tool.c9]=$peak
        printf '| %s | %s |' "$tool" "$f"
        local c
        for c in 1 2 3 4 5 6 7 8 9; do printf ' %s |' "${R[$f.$tool.c$c]}"; done
        echo
      done
    done
    if has_tool zentoria; then
      local other
      for f in "${FORMATS[@]}"; do
        for other in restic borg; do
          has_tool "$other" || continue
          printf '| zentoria/%s | %s |' "$other" "$f"
          local c
          for c in 1 2 3 4; do printf ' %s |' "$(ratio "${R[$f.zentoria.c$c]}" "${R[$f.$other.c$c]}")"; done
          printf ' | |'
          for c in 7 8; do printf ' %s |' "$(ratio "${R[$f.zentoria.c$c]}" "${R[$f.$other.c$c]}")"; done
          echo ' |'
        done
      done
    fi
    echo
    echo "1st backup MB/CPU-s, every run in order (median):"
    echo
    local rates k
    for f in "${FORMATS[@]}"; do
      for tool in "${TOOLS[@]}"; do
        rates=()
        for run in $(first_runs); do
          k=$f.$run.$tool.backup1
          [[ -n ${R[$k.user]:-} ]] && rates+=("$(cpu_rate "${R[size.$f.1]}" "${R[$k.user]}" "${R[$k.sys]}")")
        done
        echo "- $tool, $f: ${rates[*]} ($(median_of "${rates[@]}"))"
      done
    done
    echo
    echo "Added by the second backup of workload B, MiB, every run in order (mean); each run had a fresh repository and so a fresh chunking secret:"
    echo
    local b mibs
    for f in "${FORMATS[@]}"; do
      for tool in "${TOOLS[@]}"; do
        mibs=()
        for b in ${R[$f.$tool.addedB]}; do mibs+=("$(mib "$b")"); done
        echo "- $tool, $f: ${mibs[*]} (${R[$f.$tool.c6]})"
      done
    done
    echo
    echo "MB = 10^6 bytes, MiB = 2^20 bytes. Speeds are input bytes per wall second (1st backup: dump 1; 2nd backup A: dump 2; 2nd backup B: dump 3; restore: the latest snapshot, dump 2) except check, which is repository bytes (du -sb after both workload A backups) per wall second. MB/CPU-s divides by user+sys CPU time. \"added\" is the growth of du -sb of the repository caused by the second backup; for workload B, the mean over $B_RUNS runs, and its 2nd backup speed the best of them. Ratios above 1 mean zentoria is faster. 1st backup: the best of $FIRST_RUNS runs (dump 1 into a fresh repository: once per workload run$( ((FIRST_RUNS > 1 + B_RUNS)) && echo ', then into repositories of its own')), the least wall time and, separately, the least CPU time; every run is listed below the table. Every other step ran once (workload B's once per run), after \`cat dump > /dev/null\` and \`sync\`; each tool got a fresh repository per workload run. restic: repository v2, default (auto) compression; borg: repokey-blake2, zstd,3."
    if has_tool zentoria; then
      echo
      for f in "${FORMATS[@]}"; do
        echo "zentoria's own figures ($f): bytes_added of the second backup: workload A $(mib "${R[$f.A.zentoria.own_added]:-0}") MiB, workload B $(mib "$(own_added_b "$f")") MiB (mean); duration_seconds of backup 1 / 2: workload A $(sec "${R[$f.A.zentoria.own_dur1]:-}") / $(sec "${R[$f.A.zentoria.own_dur2]:-}") s, workload B (first run) $(sec "${R[$f.B1.zentoria.own_dur1]:-}") / $(sec "${R[$f.B1.zentoria.own_dur2]:-}") s (the wall times above also include start-up and key derivation)."
      done
    fi
    echo
    echo "## Every step"
    echo
    echo "| format | workload | tool | step | wall s | user s | sys s | peak RSS MiB | repository MiB after |"
    echo "|---|---|---|---|---:|---:|---:|---:|---:|"
    local wl step p du
    for f in "${FORMATS[@]}"; do
      for wl in $(first_runs); do
        for tool in "${TOOLS[@]}"; do
          for step in init backup1 backup2 restore check; do
            p=$f.$wl.$tool.$step
            [[ -n ${R[$p.wall]:-} ]] || continue
            du=""
            [[ $step == backup1 ]] && du=$(mib "${R[$f.$wl.$tool.du1]}")
            [[ $step == backup2 ]] && du=$(mib "${R[$f.$wl.$tool.du2]}")
            echo "| $f | $wl | $tool | $step | ${R[$p.wall]} | ${R[$p.user]} | ${R[$p.sys]} | $(awk -v k="${R[$p.rss]}" 'BEGIN{printf "%.0f", k/1024}') | $du |"
          done
        done
      done
      for n in 1 2 3; do
        p=pgdump.$f.$n
        echo "| $f | - | pg_dump | dump $n | ${R[$p.wall]} | ${R[$p.user]} | ${R[$p.sys]} | $(awk -v k="${R[$p.rss]}" 'BEGIN{printf "%.0f", k/1024}') | |"
      done
    done
  } >"$WORK/report.md"
}

run_full() {
  local f tool run
  command -v zstd >/dev/null 2>&1 || die "zstd not found"
  local avail need
  avail=$(df -B1 --output=avail "$WORK" | tail -n 1 | tr -d ' ')
  need=$((SCALE * 16000000 * (3 * ${#FORMATS[@]} + 4)))
  ((avail > need)) || log "WARNING: $(mib "$avail") MiB free in $BASE_TMP; about $(mib "$need") MiB may be needed"
  start_postgres
  build_dataset
  make_dumps
  log "stopping PostgreSQL (not needed any more)"
  if as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null 2>&1; then
    PG_STARTED=0
    rm -rf "$PGDATA"
  fi
  # The tools take turns run by run, so a slow spell of the host falls on all of them
  # rather than on every run of one.
  for f in "${FORMATS[@]}"; do
    for tool in "${TOOLS[@]}"; do run_workload "$f" A "$tool"; done
    for run in $(b_runs); do
      for tool in "${TOOLS[@]}"; do run_workload "$f" "$run" "$tool"; done
    done
    for ((run = B_RUNS + 2; run <= FIRST_RUNS; run++)); do
      for tool in "${TOOLS[@]}"; do extra_first_backup "$f" "$run" "$tool"; done
    done
  done
  write_report
}

# ==========================================================================
START=$(date +%s)
if [[ $MODE == stream ]]; then
  run_stream
else
  run_full
fi
mkdir -p "$(dirname "$OUT")"
cp "$WORK/report.md" "$OUT"
echo
cat "$WORK/report.md"
echo
log "done in $(($(date +%s) - START)) s; report written to $OUT"
