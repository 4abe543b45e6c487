#!/usr/bin/env bash
# Regenerates Tests/RepositoryCoreTests/Golden/retention/*.json from REAL restic, the reference implementation of
# the retention rules that `RetentionPlan.make` reimplements. This script is the only way to
# change those files: never edit them by hand, rerun this and review the diff.
#
#     scripts/generate-retention-golden.sh            # needs restic (0.14.0 was used), jq, GNU date
#     RESTIC=/path/to/restic scripts/generate-retention-golden.sh
#
# What it does:
#   1. creates a throwaway restic repository in a temporary directory (removed on exit) holding
#      one tiny file;
#   2. makes one snapshot per timeline entry with `restic backup --time "YYYY-MM-DD HH:MM:SS"
#      --host <timeline> file`, four at a time. Each timeline is its own host, so restic's
#      default grouping (host, paths) gives one group per timeline. Entries are written as a
#      wall-clock time plus the zone to read it in: `Europe/Amsterdam` for ordinary local times,
#      or the fixed-offset zone `Etc/GMT-1` (CET) / `Etc/GMT-2` (CEST) where an instant must be
#      pinned exactly (both 02:30 on 2026-10-25 exist). Either way the stored offset is the one
#      Europe/Amsterdam has at that instant, so restic reads every time back in that zone;
#   3. runs `TZ=Europe/Amsterdam restic forget --dry-run --json <flags>` once per policy and
#      writes Golden/<timeline>.<policy>.json per (timeline, policy): the kept snapshots in
#      restic's order with restic's reasons (`matches`), and the removed ones.
#
# Timelines (all instants lie before 2026-11-27, except two in the `future` timeline):
#   spring     daily 12:00 from 2026-01-01, then hourly 2026-03-22 00:00 .. 2026-04-02 23:00,
#              across the CET->CEST change on 2026-03-29 (02:00 does not exist that day)
#   autumn     daily 00:30 from 2026-07-01, then hourly 2026-10-21 00:00 .. 2026-10-31 23:00,
#              across the CEST->CET change on 2026-10-25 (02:00-02:59 happens twice)
#   irregular  hand-picked: gaps, several per hour, same-second ties, midnight/month/ISO-week
#              edges, exact keep-within boundaries, DST gap and overlap times
#   years      first and last second of every month 2020-06 .. 2026-05 plus the days around
#              three new years (ISO week 53 of 2020 included)
#   future     a few snapshots dated after the machine's clock: restic takes "latest" from
#              snapshots before now only; the golden file records that now
#
# restic's `now` matters only for the future timeline; the others need a clock after 2026-11-20.
# Runtime on a 2-core machine: 5-7 minutes for 994 snapshots, nearly all of it `restic backup`
# (each run derives the key with scrypt and lists the growing repository). restic 0.14 may print
# "Load(<lock/...>) returned error, retrying" when parallel backups race on lock files: harmless.
set -euo pipefail

cd "$(dirname "$0")/.."
RESTIC=${RESTIC:-restic}
ZONE=Europe/Amsterdam
OUT=Tests/RepositoryCoreTests/Golden/retention
PARALLEL=${PARALLEL:-4}

command -v "$RESTIC" >/dev/null || { echo "restic not found" >&2; exit 1; }
command -v jq >/dev/null || { echo "jq not found" >&2; exit 1; }

work=$(mktemp -d -t retention-golden.XXXXXX)
trap 'rm -rf "$work"' EXIT
export RESTIC RESTIC_REPOSITORY="$work/repo" RESTIC_PASSWORD=golden RESTIC_CACHE_DIR="$work/cache"
started=$(date +%s)
log() { echo "[$(($(date +%s) - started))s] $*" >&2; }

# --- timelines: one line per snapshot, "ZONE YYYY-MM-DD HH:MM:SS HOST" ----------------------

# The entry for a Unix instant, pinned with the fixed-offset zone Amsterdam has at that instant.
instant() {
    local day clock offset zone
    read -r day clock offset < <(TZ=$ZONE date -d "@$1" '+%Y-%m-%d %H:%M:%S %z')
    case $offset in
        +0100) zone=Etc/GMT-1 ;;
        +0200) zone=Etc/GMT-2 ;;
        *) echo "unexpected offset $offset" >&2; exit 1 ;;
    esac
    echo "$zone $day $clock $2"
}

# Daily at a local wall-clock time: daily FIRST-DAY COUNT HH:MM:SS HOST
daily() {
    local i
    for ((i = 0; i < $2; i++)); do
        echo "$ZONE $(date -u -d "$1 $i days" +%F) $3 $4"
    done
}

# Hourly instants between two local times, inclusive: hourly "FROM" "TO" HOST
hourly() {
    local from to e
    from=$(TZ=$ZONE date -d "$1" +%s)
    to=$(TZ=$ZONE date -d "$2" +%s)
    for ((e = from; e <= to; e += 3600)); do instant "$e" "$3"; done
}

spring() {
    daily 2026-01-01 80 12:00:00 spring
    hourly "2026-03-22 00:00:00" "2026-04-02 23:00:00" spring
}

autumn() {
    daily 2026-07-01 112 00:30:00 autumn
    hourly "2026-10-21 00:00:00" "2026-10-31 23:00:00" autumn
}

irregular() {
    local g1=Etc/GMT-1 g2=Etc/GMT-2 h=irregular
    cat <<EOF
$ZONE 2026-11-20 12:00:00 $h
$ZONE 2026-11-20 12:00:00 $h
$ZONE 2026-11-20 12:00:00 $h
$ZONE 2026-11-20 11:59:59 $h
$ZONE 2026-11-20 11:30:00 $h
$ZONE 2026-11-20 11:00:00 $h
$ZONE 2026-11-20 10:59:59 $h
$ZONE 2026-11-20 00:00:00 $h
$ZONE 2026-11-19 23:59:59 $h
$ZONE 2026-11-18 08:00:00 $h
$ZONE 2026-11-18 08:00:00 $h
$ZONE 2026-11-17 21:15:00 $h
$ZONE 2026-11-13 12:00:01 $h
$ZONE 2026-11-13 12:00:00 $h
$ZONE 2026-11-13 11:59:59 $h
$ZONE 2026-11-09 00:00:00 $h
$ZONE 2026-11-08 23:59:59 $h
$ZONE 2026-11-01 09:00:00 $h
$ZONE 2026-10-26 00:00:00 $h
$ZONE 2026-10-25 23:59:59 $h
$g1 2026-10-25 03:00:00 $h
$g1 2026-10-25 02:50:00 $h
$g1 2026-10-25 02:30:00 $h
$ZONE 2026-10-25 02:15:00 $h
$g2 2026-10-25 02:30:00 $h
$g2 2026-10-25 02:10:00 $h
$g2 2026-10-25 01:59:59 $h
$ZONE 2026-10-01 00:00:00 $h
$ZONE 2026-09-30 23:59:59 $h
$ZONE 2026-09-20 12:00:00 $h
$ZONE 2026-09-20 11:59:59 $h
$ZONE 2026-08-31 23:00:00 $h
$ZONE 2026-08-14 06:00:00 $h
$ZONE 2026-08-14 06:00:00 $h
$ZONE 2026-07-03 18:45:00 $h
$ZONE 2026-05-31 23:59:59 $h
$ZONE 2026-04-12 10:00:00 $h
$g2 2026-03-29 03:30:00 $h
$ZONE 2026-03-29 02:30:00 $h
$g2 2026-03-29 03:00:00 $h
$g1 2026-03-29 01:59:59 $h
$ZONE 2026-03-28 23:00:00 $h
$ZONE 2026-02-28 12:00:00 $h
$ZONE 2026-01-04 23:59:59 $h
$ZONE 2026-01-01 00:00:00 $h
$ZONE 2025-12-31 23:59:59 $h
$ZONE 2025-12-29 00:00:00 $h
$ZONE 2025-12-28 23:59:59 $h
$ZONE 2025-11-20 12:00:00 $h
$ZONE 2025-09-20 12:00:01 $h
$ZONE 2025-09-20 12:00:00 $h
$ZONE 2025-03-30 12:00:00 $h
$ZONE 2024-02-29 12:00:00 $h
$ZONE 2023-06-15 08:00:00 $h
$ZONE 2021-01-03 12:00:00 $h
$ZONE 2020-12-31 12:00:00 $h
EOF
}

years() {
    local y m first last
    for ((y = 2020; y <= 2026; y++)); do
        for ((m = 1; m <= 12; m++)); do
            first=$(printf '%04d-%02d-01' "$y" "$m")
            [[ $first < 2020-06-01 || $first > 2026-05-01 ]] && continue
            last=$(date -u -d "$first 1 month -1 day" +%F)
            echo "$ZONE $first 00:00:00 years"
            echo "$ZONE $last 23:59:59 years"
        done
    done
    daily 2020-12-26 11 09:00:00 years
    daily 2024-12-27 8 09:00:00 years
    daily 2025-12-26 10 09:00:00 years
}

future() {
    daily 2026-11-01 10 06:00:00 future
    hourly "2026-11-10 20:00:00" "2026-11-11 04:00:00" future
    echo "$ZONE 2030-06-01 12:00:00 future"
    echo "$ZONE 2031-01-01 12:00:00 future"
}

TIMELINES=(spring autumn irregular years future)

# --- policies: NAME then restic flags ------------------------------------------------------

POLICIES=(
    "postgresql-within|--keep-within-hourly 7d --keep-within-daily 30d --keep-within-weekly 84d"
    "postgresql-count|--keep-hourly 168 --keep-daily 30 --keep-weekly 12"
    "redis|--keep-within 7d"
    "daily-30|--keep-within-daily 30d"
    "n8n|--keep-within-daily 90d"
    "last3-monthly2-yearly1|--keep-last 3 --keep-monthly 2 --keep-yearly 1"
    "mixed|--keep-last 2 --keep-hourly 5 --keep-daily 4 --keep-weekly 3 --keep-monthly 2 --keep-yearly 2 --keep-within 2d3h --keep-within-monthly 1y2m --keep-within-yearly 3y"
    "calendar|--keep-within 1m --keep-within-hourly 1d12h --keep-within-weekly 2m5d --keep-within-daily 1y"
)

# --- run ------------------------------------------------------------------------------------

version=$("$RESTIC" version)
log "$version"
echo golden >"$work/file"
"$RESTIC" init -q

for timeline in "${TIMELINES[@]}"; do "$timeline"; done >"$work/timeline.txt"
total=$(wc -l <"$work/timeline.txt")
log "making $total snapshots, $PARALLEL at a time"
(
    cd "$work"
    # shellcheck disable=SC2016
    xargs -P "$PARALLEL" -n 4 sh -c \
        'TZ="$0" "$RESTIC" backup -q --time "$1 $2" --host "$3" file' <timeline.txt
)
made=$(TZ=$ZONE "$RESTIC" snapshots --json | jq length)
[[ $made == "$total" ]] || { echo "made $made snapshots, expected $total" >&2; exit 1; }
log "made $made snapshots"

rm -f "$OUT"/*.json
mkdir -p "$OUT"
for entry in "${POLICIES[@]}"; do
    policy=${entry%%|*}
    flags=${entry#*|}
    now=$(TZ=$ZONE date --iso-8601=seconds)
    # shellcheck disable=SC2086
    TZ=$ZONE "$RESTIC" forget --dry-run --json $flags >"$work/forget.json"
    for timeline in "${TIMELINES[@]}"; do
        jq --arg timeline "$timeline" --arg policy "$policy" --arg flags "$flags" \
            --arg now "$now" --arg restic "$version" --arg zone "$ZONE" '
            .[] | select(.host == $timeline)
            | "{\n"
              + "  \"generator\": \"scripts/generate-retention-golden.sh\",\n"
              + "  \"restic\": \($restic | tojson),\n"
              + "  \"timeZone\": \($zone | tojson),\n"
              + "  \"now\": \($now | tojson),\n"
              + "  \"timeline\": \($timeline | tojson),\n"
              + "  \"policy\": \($policy | tojson),\n"
              + "  \"flags\": \($flags | split(" ") | tojson),\n"
              + "  \"keep\": [\n"
              + ([range(0; .keep | length) as $i
                  | if .keep[$i].time != .reasons[$i].snapshot.time
                    then error("keep and reasons differ at \($i)") else . end
                  | "    " + ({id: .keep[$i].short_id, time: .keep[$i].time,
                               matches: .reasons[$i].matches} | tojson)] | join(",\n"))
              + "\n  ],\n"
              + "  \"forget\": [\n"
              + ([(.remove // [])[] | "    " + ({id: .short_id, time: .time} | tojson)]
                 | join(",\n"))
              + "\n  ]\n}"
            ' -r "$work/forget.json" >"$OUT/$timeline.$policy.json"
        [[ -s "$OUT/$timeline.$policy.json" ]] || { echo "no group $timeline" >&2; exit 1; }
    done
    log "policy $policy done"
done
log "wrote $(ls "$OUT" | wc -l) golden files to $OUT"
