# Shared by the benchmark scripts: `source bench/lib.sh` after defining log(), WORK and LOGS.
# shellcheck shell=bash

declare -A R   # results: R[key]=value

show_log() { # file label
  [[ -s $1 ]] || return 0
  printf -- '----- %s (last 40 lines of %s) -----\n' "$2" "${1#"$WORK"/}" >&2
  tail -n 40 "$1" >&2
}

# measure KEY INFILE OUTFILE CMD...
# Runs CMD once under /usr/bin/time; sets M_WALL M_USER M_SYS M_RSS (KiB) and
# stores them as R[KEY.wall] etc. On failure prints the tool's stderr and exits.
measure() {
  local key=$1 in=$2 out=$3; shift 3
  local tf=$LOGS/$key.time ef=$LOGS/$key.stderr rc=0
  sync
  /usr/bin/time -f '%e %U %S %M' -o "$tf" "$@" <"$in" >"$out" 2>"$ef" || rc=$?
  if ((rc != 0)); then
    printf '%s: ERROR: step %s failed (exit %s): %s\n' "${BENCH_NAME:-bench}" "$key" "$rc" "$*" >&2
    show_log "$ef" "stderr"
    [[ $out == /dev/null ]] || show_log "$out" "stdout"
    exit 1
  fi
  read -r M_WALL M_USER M_SYS M_RSS < <(tail -n 1 "$tf")
  R[$key.wall]=$M_WALL R[$key.user]=$M_USER R[$key.sys]=$M_SYS R[$key.rss]=$M_RSS
  log "  $key: ${M_WALL}s wall, ${M_USER}s user, ${M_SYS}s sys, $((M_RSS / 1024)) MiB RSS"
}

fsize() { stat -c %s "$1"; }
dusize() { du -sb "$1" | cut -f1; }
mb() { awk -v b="$1" 'BEGIN{printf "%.1f", b/1e6}'; }
mib() { awk -v b="$1" 'BEGIN{printf "%.1f", b/1048576}'; }
rate() { awk -v b="$1" -v s="$2" 'BEGIN{ if (s == "" || s+0 <= 0) print "n/a"; else printf "%.1f", b/1e6/s }'; }
cpu_rate() { awk -v b="$1" -v u="$2" -v s="$3" 'BEGIN{ if (u+s <= 0) print "n/a"; else printf "%.1f", b/1e6/(u+s) }'; }
sec() { awk -v v="$1" 'BEGIN{ if (v == "") print "?"; else printf "%.2f", v }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (a == "n/a" || b == "n/a" || a == "" || b == "" || b+0 == 0) print "n/a"; else printf "%.2f", a/b }'; }
