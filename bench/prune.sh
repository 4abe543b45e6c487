#!/usr/bin/env bash
# Zentoria Backup benchmark: memory and time of `repo prune` on a repository of
# more than a million chunks (FORMAT.md §10, Prune, "Memory").
#
#   bench/prune.sh              run it (about 3 minutes on 2 cores, 9 GB of scratch disk)
#
# Environment (all optional):
#   ZENTORIA_BIN        binary to test (default BENCH_BUILD_DIR/release/zentoria-coordinator
#                       under the repository root; built, niced, if missing)
#   BENCH_BUILD_DIR     swift build folder used to build it (default .build)
#   BENCH_SNAPSHOTS     number of backups (default 4, at least 2)
#   BENCH_SNAPSHOT_MIB  size of each backed-up dump in MiB (default 1280, even)
#   BENCH_CHUNK_SIZES   repo init --chunk-sizes MIN,AVG,MAX in KiB (default 1,2,8,
#                       the smallest the format allows: about 2.4 KiB per chunk)
#   BENCH_MIN_CHUNKS    fail when the repository holds fewer chunks (default 1000000)
#   BENCH_OUT           markdown report file (default bench/results-prune-DATE.md)
#   BENCH_TMPDIR        where the scratch directory is created (default $TMPDIR or /tmp)
#   BENCH_KEEP, KEEP    1 = keep the scratch directory (repository, logs) for inspection
set -Eeuo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/.." && pwd)

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf 'prune.sh: ERROR: %s\n' "$*" >&2; exit 1; }
trap 'printf "prune.sh: command failed at line %s: %s\n" "$LINENO" "$BASH_COMMAND" >&2' ERR

usage() {
  sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

# --------------------------------------------------------------------------
# Settings
# --------------------------------------------------------------------------
case "${1:-}" in
  "") ;;
  -h|--help|help) usage; exit 0 ;;
  *) usage >&2; die "unexpected argument '$1'" ;;
esac

SNAPSHOTS=${BENCH_SNAPSHOTS:-4}
SNAP_MIB=${BENCH_SNAPSHOT_MIB:-1280}
CHUNK_SIZES=${BENCH_CHUNK_SIZES:-1,2,8}
MIN_CHUNKS=${BENCH_MIN_CHUNKS:-1000000}
KEEP_WORK=${BENCH_KEEP:-${KEEP:-0}}
STAMP=$(date +%Y%m%d-%H%M%S)
OUT=${BENCH_OUT:-$SCRIPT_DIR/results-prune-$STAMP.md}

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

[[ $SNAPSHOTS =~ ^[1-9][0-9]*$ && $SNAPSHOTS -ge 2 ]] || die "BENCH_SNAPSHOTS must be an integer >= 2 (got '$SNAPSHOTS')"
[[ $SNAP_MIB =~ ^[1-9][0-9]*$ && $((SNAP_MIB % 2)) == 0 ]] || die "BENCH_SNAPSHOT_MIB must be a positive even integer (got '$SNAP_MIB')"
[[ $CHUNK_SIZES =~ ^[0-9]+,[0-9]+,[0-9]+$ ]] || die "BENCH_CHUNK_SIZES must be MIN,AVG,MAX in KiB (got '$CHUNK_SIZES')"
[[ $MIN_CHUNKS =~ ^[0-9]+$ ]] || die "BENCH_MIN_CHUNKS must be a number (got '$MIN_CHUNKS')"

# --------------------------------------------------------------------------
# Prerequisites
# --------------------------------------------------------------------------
ensure_packages() {
  local pkgs=()
  [[ -x /usr/bin/time ]] || pkgs+=(time)
  command -v openssl >/dev/null 2>&1 || pkgs+=(openssl)
  command -v perl >/dev/null 2>&1 || pkgs+=(perl)
  ((${#pkgs[@]})) || return 0
  [[ $EUID -eq 0 ]] || die "missing packages: ${pkgs[*]} (run as root, or install them first)"
  command -v apt-get >/dev/null 2>&1 || die "missing packages: ${pkgs[*]} and no apt-get to install them"
  log "installing missing packages: ${pkgs[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -q || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${pkgs[@]}" || die "apt-get install ${pkgs[*]} failed"
}

ensure_zentoria() {
  [[ -x $BIN ]] && return 0
  [[ -e $BIN ]] && die "zentoria binary $BIN exists but is not executable"
  [[ $BIN == "$DEFAULT_BIN" ]] || die "zentoria binary not found: $BIN (unset ZENTORIA_BIN to build it)"
  command -v swift >/dev/null 2>&1 || die "zentoria binary not found: $BIN and swift is not installed"
  log "zentoria binary missing; building (niced): swift build -c release --scratch-path ${BUILD_DIR#"$REPO_ROOT"/} --product zentoria-coordinator"
  (cd "$REPO_ROOT" && nice -n 19 swift build -c release --scratch-path "$BUILD_DIR" --product zentoria-coordinator) \
    || die "swift build failed"
  [[ -x $BIN ]] || die "swift build finished but $BIN does not exist"
}

ensure_packages
ensure_zentoria

# --------------------------------------------------------------------------
# Scratch directory, cleanup
# --------------------------------------------------------------------------
BASE_TMP=${BENCH_TMPDIR:-${TMPDIR:-/tmp}}
mkdir -p "$BASE_TMP"
WORK=$(mktemp -d "$BASE_TMP/zentoria-prune.XXXXXX")
LOGS=$WORK/logs
REPO=$WORK/repo
mkdir -p "$LOGS" "$WORK/tmp"

cleanup() {
  local rc=$?
  set +e
  trap - ERR
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
# Helpers (as in bench/run.sh)
# --------------------------------------------------------------------------
BENCH_NAME=prune.sh
# shellcheck source=bench/lib.sh
source "$SCRIPT_DIR/lib.sh"

json_num() { # FIELD FILE -> first numeric value of "FIELD": N
  sed -n "s/.*\"$1\"[[:space:]]*:[[:space:]]*\([0-9][0-9.eE+-]*\).*/\1/p" "$2" | head -n 1
}
json_str() { # FIELD FILE -> first string value of "FIELD": "S"
  sed -n "s/.*\"$1\"[[:space:]]*:[[:space:]]*\"\([^\"]*\)\".*/\1/p" "$2" | head -n 1
}
kib_mib() { awk -v k="$1" 'BEGIN{printf "%.0f", k/1024}'; }
cpu() { awk -v u="${R[$1.user]}" -v s="${R[$1.sys]}" 'BEGIN{printf "%.1f", u+s}'; }
group() { printf '%s' "$1" | sed -e ':a' -e 's/\([0-9]\)\([0-9]\{3\}\)\($\| \)/\1 \2\3/' -e 'ta'; }
pack_list() { # -> "name size" per pack file, sorted
  find "$REPO/data" -type f -printf '%f %s\n' | grep -E '^[0-9a-f]{64} ' | sort || true
}

# --------------------------------------------------------------------------
# Data: incompressible, reproducible, half shared between consecutive dumps
# --------------------------------------------------------------------------
# Dump s (s = 0 .. SNAPSHOTS-1) is N = SNAPSHOT_MIB pieces of 1 MiB. Dump 0's
# pieces are all new. In dump s >= 1, the pieces at positions j with
# j % 2 != s % 2 are the same as in dump s-1, the others are new: consecutive
# dumps share every other MiB, so packs written for one dump end up partly used
# when that dump is forgotten and repack has work to do. Piece bytes come from
# a pool of AES-128-CTR keystream with a fixed key (openssl over /dev/zero).
N=$SNAP_MIB
POOL_PIECES=$((N + (SNAPSHOTS - 1) * N / 2))
PIECE=1048576

write_assembler() { # -> $WORK/assemble.pl
  cat >"$WORK/assemble.pl" <<'PERL'
# assemble.pl POOL SNAPSHOT N: writes dump SNAPSHOT (N pieces of 1 MiB) to stdout.
use strict; use warnings;
my ($pool, $s, $n) = @ARGV;
my $p = 1 << 20;
open(my $fh, '<:raw', $pool) or die "open $pool: $!\n";
binmode STDOUT;
sub fresh { my ($o, $j) = @_; return $o == 0 ? $j : $n + ($o - 1) * ($n / 2) + int($j / 2); }
for my $j (0 .. $n - 1) {
  my $k = ($s > 0 && $j % 2 != $s % 2) ? fresh($s - 1, $j) : fresh($s, $j);
  seek($fh, $k * $p, 0) or die "seek: $!\n";
  my $buf = '';
  my $got = read($fh, $buf, $p);
  die "short read of piece $k\n" unless defined $got && $got == $p;
  my $done = 0;
  while ($done < $p) {
    my $r = syswrite(STDOUT, $buf, $p - $done, $done);
    die "write: $!\n" unless defined $r;
    $done += $r;
  }
}
PERL
}

# Snapshots forgotten: the even-numbered ones except the latest (0 and 2 of 4).
forgotten() { (($1 % 2 == 0 && $1 < SNAPSHOTS - 1)); }

# ==========================================================================
START=$(date +%s)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
POOL_BYTES=$((POOL_PIECES * PIECE))
DUMP_BYTES=$((N * PIECE))
avail=$(df -B1 --output=avail "$WORK" | tail -n 1 | tr -d ' ')
need=$((POOL_BYTES * 25 / 10 + DUMP_BYTES))   # pool + repository (+ repacked copy) + one dump
log "free in $BASE_TMP: $(mib "$avail") MiB, needed about $(mib "$need") MiB"
((avail > need)) || die "not enough disk in $BASE_TMP: $(mib "$avail") MiB free, about $(mib "$need") MiB needed (set BENCH_TMPDIR)"

log "binary: $BIN"
"$BIN" repo init --help >/dev/null 2>&1 || die "$BIN does not run 'repo init --help'"

# Baselines: the same prune on an empty repository, with the default key
# derivation (scrypt: 64 MiB while the repository is opened) and with the
# cheap one of the tests (hidden init flag): process, runtime and open repository.
mkdir -p "$WORK/empty" "$WORK/empty-cheap"
measure empty.init /dev/null "$LOGS/empty.init.out" "$BIN" repo init --repo "$WORK/empty" --chunk-sizes "$CHUNK_SIZES"
measure empty.prune /dev/null "$LOGS/empty.prune.out" "$BIN" repo prune --repo "$WORK/empty"
if "$BIN" repo init --repo "$WORK/empty-cheap" --insecure-kdf-for-tests >"$LOGS/empty-cheap.init.out" 2>&1; then
  measure empty-cheap.prune /dev/null "$LOGS/empty-cheap.prune.out" "$BIN" repo prune --repo "$WORK/empty-cheap"
else
  log "  (no --insecure-kdf-for-tests: the baseline without key derivation is skipped)"
fi
rm -rf "$WORK/empty" "$WORK/empty-cheap"

mkdir -p "$REPO"
log "repo init --chunk-sizes $CHUNK_SIZES"
measure init /dev/null "$LOGS/init.out" "$BIN" repo init --repo "$REPO" --chunk-sizes "$CHUNK_SIZES"

log "data pool: $(mib "$POOL_BYTES") MiB of AES-CTR keystream"
head -c "$POOL_BYTES" /dev/zero \
  | openssl enc -aes-128-ctr -nosalt -K 7a656e746f7269612d7072756e652d31 -iv 00000000000000000000000000000000 \
  >"$WORK/pool" || die "openssl failed to write the data pool"
[[ $(stat -c %s "$WORK/pool") == "$POOL_BYTES" ]] || die "data pool has the wrong size"
write_assembler

TOTAL_NEW=0
declare -a IDS SHAS
for ((s = 0; s < SNAPSHOTS; s++)); do
  log "dump $s: $SNAP_MIB MiB ($( ((s == 0)) && echo "all new" || echo "half shared with dump $((s - 1))"))"
  perl "$WORK/assemble.pl" "$WORK/pool" "$s" "$N" >"$WORK/dump" || die "assembling dump $s failed"
  SHAS[s]=$(sha256sum <"$WORK/dump" | cut -d' ' -f1)
  cat "$WORK/dump" >/dev/null
  measure "backup$s" "$WORK/dump" "$LOGS/backup$s.out" \
    "$BIN" repo backup --repo "$REPO" --agent bench --component prune --json
  rm -f "$WORK/dump"
  IDS[s]=$(json_str id "$LOGS/backup$s.out")
  [[ -n ${IDS[s]} ]] || die "no snapshot id in backup $s output"
  R[backup$s.chunks]=$(json_num chunks "$LOGS/backup$s.out")
  R[backup$s.new]=$(json_num new_chunks "$LOGS/backup$s.out")
  TOTAL_NEW=$((TOTAL_NEW + ${R[backup$s.new]}))
  log "  snapshot ${IDS[s]:0:12}: ${R[backup$s.chunks]} chunks, ${R[backup$s.new]} new"
done
rm -f "$WORK/pool"

measure stats.before /dev/null "$LOGS/stats.before.out" "$BIN" repo stats --repo "$REPO" --json
R[chunks]=$(json_num unique_chunks "$LOGS/stats.before.out")
R[packs.before]=$(json_num packs "$LOGS/stats.before.out")
R[bytes.before]=$(json_num pack_bytes "$LOGS/stats.before.out")
[[ ${R[chunks]} == "$TOTAL_NEW" ]] \
  || log "WARNING: stats counts ${R[chunks]} chunks, the backups stored $TOTAL_NEW"
log "repository: $(group "${R[chunks]}") chunks in ${R[packs.before]} packs ($(mib "${R[bytes.before]}") MiB)"
[[ ${R[chunks]} -ge $MIN_CHUNKS ]] \
  || die "only ${R[chunks]} chunks, fewer than BENCH_MIN_CHUNKS=$MIN_CHUNKS (raise BENCH_SNAPSHOT_MIB)"

log "check (structure) on the full repository"
measure check.before /dev/null "$LOGS/check.before.out" "$BIN" repo check --repo "$REPO"

FORGET=()
for ((s = 0; s < SNAPSHOTS; s++)); do forgotten "$s" && FORGET+=("${IDS[s]}"); done
log "forget ${#FORGET[@]} of $SNAPSHOTS snapshots"
measure forget /dev/null "$LOGS/forget.out" "$BIN" repo forget --repo "$REPO" "${FORGET[@]}"
measure stats.forgotten /dev/null "$LOGS/stats.forgotten.out" "$BIN" repo stats --repo "$REPO" --json
R[used]=$(json_num unique_chunks "$LOGS/stats.forgotten.out")

log "prune --dry-run"
measure dryrun /dev/null "$LOGS/dryrun.out" "$BIN" repo prune --repo "$REPO" --dry-run
pack_list >"$WORK/packs.before"
log "prune"
measure prune /dev/null "$LOGS/prune.out" "$BIN" repo prune --repo "$REPO"
pack_list >"$WORK/packs.after"
sed 's/^/  | /' "$LOGS/prune.out" >&2
R[repacked]=$(sed -n 's/.*repack \([0-9][0-9]*\) (\([0-9][0-9]*\) bytes to copy).*/\1/p' "$LOGS/prune.out" | head -n 1)
R[copied]=$(sed -n 's/.*repack \([0-9][0-9]*\) (\([0-9][0-9]*\) bytes to copy).*/\2/p' "$LOGS/prune.out" | head -n 1)
R[unused]=$(sed -n 's/.*announce \([0-9][0-9]*\) unused.*/\1/p' "$LOGS/prune.out" | head -n 1)
R[written]=$(sed -n 's/.*wrote \([0-9][0-9]*\) pack.*/\1/p' "$LOGS/prune.out" | head -n 1)
R[deleted]=$(join -v 1 "$WORK/packs.before" "$WORK/packs.after" | wc -l)
R[deleted.bytes]=$(join -v 1 "$WORK/packs.before" "$WORK/packs.after" | awk '{s += $2} END {printf "%.0f", s}')
grep -q 'announced for deletion wait\|still wait' "$LOGS/prune.out" \
  && log "WARNING: prune left packs waiting for other operations"

measure stats.after /dev/null "$LOGS/stats.after.out" "$BIN" repo stats --repo "$REPO" --json
R[packs.after]=$(json_num packs "$LOGS/stats.after.out")
R[bytes.after]=$(json_num pack_bytes "$LOGS/stats.after.out")
R[used.after]=$(json_num unique_chunks "$LOGS/stats.after.out")
[[ ${R[used.after]} == "${R[used]}" ]] || die "used chunks changed across prune: ${R[used]} -> ${R[used.after]}"

log "check (structure) after prune"
measure check.after /dev/null "$LOGS/check.after.out" "$BIN" repo check --repo "$REPO"
# Snapshot 1 holds half of dump 0, which prune has just repacked: restore it.
log "restore snapshot 1 and compare with dump 1"
got=$("$BIN" repo restore --repo "$REPO" "${IDS[1]}" 2>"$LOGS/verify.stderr" </dev/null | sha256sum | cut -d' ' -f1) \
  || { show_log "$LOGS/verify.stderr" "stderr"; die "restore of snapshot 1 failed"; }
[[ $got == "${SHAS[1]}" ]] || die "restored snapshot 1 differs from dump 1 (sha256 $got, expected ${SHAS[1]})"
log "  restore verified (sha256 matches dump 1)"

# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------
used=${R[used]}
per_used=$(awk -v r="${R[prune.rss]}" -v n="$used" 'BEGIN{printf "%.0f", r*1024/n}')
net() { # KEY CHUNKS BASELINE-KEY -> bytes of peak RSS above the baseline's peak, per chunk
  if [[ -z ${R[$3.rss]:-} ]]; then echo "n/a"; return; fi
  awk -v r="${R[$1.rss]}" -v b="${R[$3.rss]}" -v n="$2" 'BEGIN{v = (r-b)*1024/n; printf "%.0f", (v > -0.5 && v < 0.5) ? 0 : v}'
}
bound36=$(awk -v n="$used" 'BEGIN{printf "%.1f", 36*n/1048576}')
bound68=$(awk -v n="$used" 'BEGIN{printf "%.1f", (36+32)*n/1048576}')
rev=$(git -C "$REPO_ROOT" describe --always --dirty 2>/dev/null || echo "no commit")

row() { # LABEL KEY
  echo "| $1 | ${R[$2.wall]} | $(cpu "$2") | $(kib_mib "${R[$2.rss]}") |"
}
{
  echo "# Zentoria Backup prune benchmark"
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM, load average at start $LOAD_START"
  echo "- zentoria repository revision: $rev; binary ${BIN#"$REPO_ROOT"/}"
  echo "- data: $SNAPSHOTS dumps of $SNAP_MIB MiB of incompressible data, consecutive dumps share every other MiB; chunk sizes $CHUNK_SIZES KiB, 16 MiB packs; snapshots forgotten: ${#FORGET[@]} (every other one, not the latest); prune with the default repack threshold (20 %)"
  echo
  echo "| step | wall s | CPU s | peak RSS MiB |"
  echo "|---|---:|---:|---:|"
  row "backup, first dump" backup0
  for ((s = 1; s < SNAPSHOTS; s++)); do row "backup $((s + 1)) (half new)" "backup$s"; done
  row "check (structure), before prune" check.before
  row "prune --dry-run" dryrun
  row "**prune**" prune
  row "prune, empty repository" empty.prune
  [[ -n ${R[empty-cheap.prune.rss]:-} ]] && row "prune, empty repository, cheap key derivation" empty-cheap.prune
  row "check (structure), after prune" check.after
  echo
  echo "| repository | |"
  echo "|---|---:|"
  echo "| chunks in the repository | $(group "${R[chunks]}") |"
  echo "| used chunks after forget | $(group "$used") |"
  echo "| packs before / after prune | ${R[packs.before]} / ${R[packs.after]} |"
  echo "| pack bytes before / after prune, MiB | $(mib "${R[bytes.before]}") / $(mib "${R[bytes.after]}") |"
  echo "| packs repacked / unused / written / deleted | ${R[repacked]:-?} / ${R[unused]:-?} / ${R[written]:-?} / ${R[deleted]} |"
  echo "| bytes copied by repack, MiB | $(mib "${R[copied]:-0}") |"
  echo "| bytes deleted, MiB | $(mib "${R[deleted.bytes]}") |"
  echo "| prune peak RSS per used chunk, bytes | $per_used |"
  echo "| the same above the empty repository's peak (dry run) | $(net prune "$used" empty.prune) ($(net dryrun "$used" empty.prune)) |"
  echo "| the same above the cheap-key-derivation baseline (dry run) | $(net prune "$used" empty-cheap.prune) ($(net dryrun "$used" empty-cheap.prune)) |"
  echo "| above the empty repository's peak, per chunk in the repository | $(net prune "${R[chunks]}" empty.prune) |"
  echo "| FORMAT.md: 36 B per used chunk / 36 + 32 while merging | $bound36 / $bound68 MiB |"
  if ((${R[prune.rss]} <= ${R[empty.prune.rss]} + 8192)); then
    echo
    echo "**Note:** prune's peak is not above the empty repository's: it is the key derivation's (64 MiB of scrypt), and the per-chunk figures above mean little. Use more data (BENCH_SNAPSHOT_MIB)."
  fi
  echo
  echo "MiB = 2^20 bytes. Peak RSS is GNU time's maximum resident set size (%M). CPU s = user + sys. Every step ran once, after \`sync\`; each backup read its dump from a file in the page cache. The prune ran both rounds (announce, then delete: no other operation was running). After it, \`check\` passed and snapshot 1 (half of it repacked) restored bit for bit."
} >"$WORK/report.md"

mkdir -p "$(dirname "$OUT")"
cp "$WORK/report.md" "$OUT"
echo
cat "$WORK/report.md"
echo
log "done in $(($(date +%s) - START)) s; report written to $OUT"
