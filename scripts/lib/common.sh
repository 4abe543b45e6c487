# Shared helpers for the project's scripts. Source it; do not run it.

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf '%s: error: %s\n' "$(basename "$0")" "$*" >&2; exit 1; }

# Installs Debian packages whose command or file is missing: ensure_packages CHECK:PACKAGE...
# CHECK is a command name or an absolute path.
ensure_packages() {
    local missing=() pair check package
    for pair in "$@"; do
        check=${pair%%:*}
        package=${pair#*:}
        if [[ $check == /* ]]; then [[ -e $check ]] && continue; else command -v "$check" >/dev/null 2>&1 && continue; fi
        missing+=("$package")
    done
    ((${#missing[@]} == 0)) && return 0
    [[ $(id -u) == 0 ]] || die "missing packages (${missing[*]}): install them or run as root"
    log "installing ${missing[*]}"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# What every build needs.
ensure_build_packages() {
    command -v swift >/dev/null 2>&1 || die "Swift 6.3 is required (swift not found on PATH)"
    ensure_packages /usr/include/zstd.h:libzstd-dev /usr/include/sqlite3.h:libsqlite3-dev pkg-config:pkg-config zstd:zstd python3:python3
}

# PostgreSQL 15 server binaries.
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
ensure_postgres_packages() {
    ensure_packages "$PG_BIN/initdb:postgresql-15" pg_dump:postgresql-client-15
}

# A TCP port on 127.0.0.1 that nothing listens on right now.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Starts a throw-away PostgreSQL cluster in DIR, listening on 127.0.0.1 only, with its socket in
# DIR. Exports PGHOST, PGPORT, PGUSER for the caller. Stop it with pg_stop DIR.
pg_start() {
    local dir=$1
    mkdir -p "$dir"
    local run=()
    if [[ $(id -u) == 0 ]]; then
        chown postgres:postgres "$dir"
        chmod 700 "$dir"
        run=(runuser -u postgres --)
    fi
    PGPORT=$(free_port)
    (cd "$dir" && "${run[@]}" "$PG_BIN/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1) \
        || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
    (cd "$dir" && "${run[@]}" "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $PGPORT -k $dir -c fsync=off -c full_page_writes=off" start >/dev/null) \
        || { cat "$dir/server.log" >&2; die "PostgreSQL did not start"; }
    export PGHOST=$dir PGPORT PGUSER=postgres
}

pg_stop() {
    local dir=$1 run=()
    [[ -d $dir/data ]] || return 0
    [[ $(id -u) == 0 ]] && run=(runuser -u postgres --)
    (cd "$dir" && "${run[@]}" "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1) || true
}

# moto's S3 server, the AWS CLI (an independent S3 client for tests) and rclone.
ensure_storage_packages() {
    ensure_packages rclone:rclone pip3:python3-pip
    local wanted=()
    python3 -c 'import moto.server, flask_cors' >/dev/null 2>&1 || wanted+=("moto[server]==5.2.1")
    command -v aws >/dev/null 2>&1 || wanted+=("awscli")
    ((${#wanted[@]} == 0)) && return 0
    log "installing ${wanted[*]} (pip)"
    python3 -m pip install -q "${wanted[@]}" 2>/dev/null \
        || python3 -m pip install -q --break-system-packages "${wanted[@]}"
}

# Starts moto's S3 server on 127.0.0.1 with its log in DIR; exports ZENTORIA_TEST_S3_ENDPOINT.
# Stop it with moto_stop DIR.
moto_start() {
    local dir=$1 port
    mkdir -p "$dir"
    port=$(free_port)
    python3 -m moto.server -H 127.0.0.1 -p "$port" >"$dir/moto.log" 2>&1 &
    echo $! >"$dir/moto.pid"
    local tries=0
    until python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/')" >/dev/null 2>&1; do
        ((tries++ < 100)) || { cat "$dir/moto.log" >&2; die "moto's S3 server did not start"; }
        sleep 0.2
    done
    export ZENTORIA_TEST_S3_ENDPOINT=http://127.0.0.1:$port
}

moto_stop() {
    local dir=$1
    [[ -f $dir/moto.pid ]] || return 0
    kill "$(cat "$dir/moto.pid")" 2>/dev/null || true
    rm -f "$dir/moto.pid"
}
