#!/usr/bin/env bash
# A throwaway PostgreSQL server on 127.0.0.1 for the Postgres tests.
#
#   scripts/postgres.sh install          install the server binaries if they are missing (apt)
#   eval "$(scripts/postgres.sh start)"  start the server (or reuse it), installing it if
#                                        missing, and export its URL
#   scripts/postgres.sh url              print the export line without starting anything
#   scripts/postgres.sh stop             stop the server
#
# TITAN_WEBHOOKS_PG_DIR   data directory (default: ${TMPDIR:-/tmp}/titan-webhooks-postgres)
# TITAN_WEBHOOKS_PG_PORT  TCP port on 127.0.0.1 (default: 54329)
# TITAN_WEBHOOKS_PG_DURABLE=1  keep fsync and synchronous commits on, as in production (for benchmarks)
#
# The cluster trusts every local connection and, unless told to be durable, runs with fsync
# off: it is for tests and benchmarks only.
set -euo pipefail

PG_DIR=${TITAN_WEBHOOKS_PG_DIR:-${TMPDIR:-/tmp}/titan-webhooks-postgres}
PG_PORT=${TITAN_WEBHOOKS_PG_PORT:-54329}
PG_DURABLE=${TITAN_WEBHOOKS_PG_DURABLE:-0}
PG_SUPERUSER=titan
# How long `start` waits for the lock and then for the server to accept connections.
LOCK_TIMEOUT=120
READY_TIMEOUT=30

# The server is run by another user, who may not be able to resolve a relative path from here.
[[ $PG_DIR == /* ]] || PG_DIR=$PWD/$PG_DIR
PG_DIR=${PG_DIR%/}
LOCK_FILE=$PG_DIR.lock
LOG_FILE=$PG_DIR/server.log

usage() {
    cat >&2 <<EOF
usage: $0 install|start|stop|url

  install  install the PostgreSQL server binaries (apt-get) if none are found
  start    start a throwaway cluster on 127.0.0.1:$PG_PORT, or reuse the running one,
           installing the server first if it is missing, and print:
           export TITAN_WEBHOOKS_PG_URL=...
  stop     stop the cluster if it is running
  url      print the export line without starting anything

Typical use:  $0 install && eval "\$($0 start)"
EOF
}

say() { echo "postgres.sh: $*" >&2; }
die() {
    say "error: $*"
    exit 1
}

print_url() {
    echo "export TITAN_WEBHOOKS_PG_URL=postgres://$PG_SUPERUSER@127.0.0.1:$PG_PORT/postgres"
}

# Sets INITDB, PG_CTL, POSTGRES and PG_ISREADY; returns 1 if the server binaries are missing.
find_binaries() {
    local bin=""
    if command -v initdb >/dev/null && command -v pg_ctl >/dev/null && command -v postgres >/dev/null; then
        INITDB=$(command -v initdb)
        PG_CTL=$(command -v pg_ctl)
        POSTGRES=$(command -v postgres)
        # pg_isready from the same installation, when there is one.
        bin=$(dirname "$(readlink -f "$PG_CTL")")
    else
        bin=$(find_debian_bin_dir) || return 1
        INITDB=$bin/initdb
        PG_CTL=$bin/pg_ctl
        POSTGRES=$bin/postgres
    fi
    if [[ -x $bin/pg_isready ]]; then
        PG_ISREADY=$bin/pg_isready
    else
        PG_ISREADY=$(command -v pg_isready || true)
    fi
}

# Debian keeps the server binaries off PATH, one directory per major version.
find_debian_bin_dir() {
    local dir newest=""
    while IFS= read -r dir; do
        [[ -x $dir/initdb && -x $dir/pg_ctl && -x $dir/postgres ]] && newest=$dir
    done < <(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V)
    [[ -n $newest ]] && echo "$newest"
}

cmd_install() {
    if find_binaries; then
        say "PostgreSQL server found: $POSTGRES ($("$POSTGRES" --version))"
        return
    fi
    local sudo=()
    if [[ $(id -u) -ne 0 ]]; then
        command -v sudo >/dev/null || die "the PostgreSQL server is not installed, and installing it needs root or sudo"
        sudo=(sudo)
    fi
    say "installing PostgreSQL with apt-get"
    # A fresh machine may have no package lists yet; only then is the update worth its time.
    if ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql >&2; then
        say "apt-get install failed; updating the package lists and trying again"
        "${sudo[@]}" apt-get update >&2
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql >&2
    fi
    find_binaries || die "apt-get installed postgresql, but no initdb/pg_ctl/postgres was found"
    say "PostgreSQL server installed: $POSTGRES ($("$POSTGRES" --version))"
}

# PostgreSQL refuses to run as root, so as root the cluster belongs to an unprivileged user.
RUN_AS=""
choose_owner() {
    [[ $(id -u) -eq 0 ]] || return 0
    if id postgres >/dev/null 2>&1; then
        RUN_AS=postgres
    else
        RUN_AS=titan-pg
        id "$RUN_AS" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$RUN_AS"
    fi
}

# Runs a command as the cluster's owner, from / because the caller's directory may be closed to it.
as_owner() {
    if [[ -z $RUN_AS ]]; then
        "$@"
    elif command -v runuser >/dev/null; then
        (cd / && runuser -u "$RUN_AS" -- "$@")
    else
        (cd / && su "$RUN_AS" -s /bin/sh -c "$(printf '%q ' "$@")")
    fi
}

# Takes the lock on fd 9 so that concurrent callers (parallel test binaries) take turns.
take_lock() {
    mkdir -p "$(dirname "$LOCK_FILE")"
    exec 9>>"$LOCK_FILE"
    flock -w "$LOCK_TIMEOUT" 9 || die "timed out after $LOCK_TIMEOUT s waiting for $LOCK_FILE"
}

is_initialized() { [[ -f $PG_DIR/PG_VERSION ]]; }

# fd 9 is closed for pg_ctl: a server that inherited the lock would hold it for its whole life.
our_cluster_running() {
    is_initialized && as_owner "$PG_CTL" status -D "$PG_DIR" >/dev/null 2>&1 9>&-
}

accepting_connections() {
    if [[ -n $PG_ISREADY ]]; then
        "$PG_ISREADY" -q -h 127.0.0.1 -p "$PG_PORT" -U "$PG_SUPERUSER" -d postgres
    else
        port_in_use
    fi
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$PG_PORT") 2>/dev/null; }

# The port the running cluster listens on, from the fourth line of postmaster.pid.
running_port() { sed -n 4p "$PG_DIR/postmaster.pid" 2>/dev/null; }

show_log() {
    if [[ -f $LOG_FILE ]]; then
        say "last lines of $LOG_FILE:"
        tail -n 30 "$LOG_FILE" >&2
    fi
}

wait_until_ready() {
    local deadline=$((SECONDS + READY_TIMEOUT))
    until accepting_connections; do
        if ((SECONDS >= deadline)); then
            show_log
            die "the server in $PG_DIR does not accept connections on 127.0.0.1:$PG_PORT after $READY_TIMEOUT s"
        fi
        sleep 0.2
    done
}

init_cluster() {
    if [[ -d $PG_DIR ]] && [[ -n $(ls -A "$PG_DIR") ]]; then
        die "$PG_DIR is not empty but is not a PostgreSQL data directory; remove it or set TITAN_WEBHOOKS_PG_DIR"
    fi
    say "creating a cluster in $PG_DIR"
    mkdir -p "$PG_DIR"
    chmod 700 "$PG_DIR"
    if [[ -n $RUN_AS ]]; then
        chown "$RUN_AS": "$PG_DIR"
        as_owner test -w "$PG_DIR" ||
            die "user $RUN_AS cannot reach $PG_DIR (a parent directory is closed to it); set TITAN_WEBHOOKS_PG_DIR to a path under /tmp"
    fi
    # C locale: the machine may have no other locale installed.
    as_owner "$INITDB" -D "$PG_DIR" --auth=trust --username="$PG_SUPERUSER" -E UTF8 --locale=C --no-sync >&2 9>&-
}

# Rewritten on every start, so that an existing cluster follows this script's current settings.
write_settings() {
    local conf=$PG_DIR/titan-webhooks.conf
    # A Unix socket path longer than 107 bytes stops the server, so a deep directory gets none.
    local socket_dir=$PG_DIR
    ((${#PG_DIR} + 20 < 108)) || socket_dir=""
    # Durability buys nothing for test data; without it CREATE DATABASE is several times faster.
    local durability=off
    [[ $PG_DURABLE != 1 ]] || durability=on
    cat >"$conf" <<EOF
# Settings of the titan-webhooks test cluster, written by scripts/postgres.sh.
listen_addresses = '127.0.0.1'
unix_socket_directories = '${socket_dir//\'/\'\'}'
max_connections = 200
fsync = $durability
synchronous_commit = $durability
full_page_writes = $durability
wal_level = minimal
max_wal_senders = 0
EOF
    [[ -z $RUN_AS ]] || chown "$RUN_AS": "$conf"
    grep -qx "include 'titan-webhooks.conf'" "$PG_DIR/postgresql.conf" ||
        echo "include 'titan-webhooks.conf'" >>"$PG_DIR/postgresql.conf"
}

cmd_start() {
    # Under the lock, so parallel callers on a fresh machine install once.
    take_lock
    find_binaries || cmd_install
    choose_owner

    if our_cluster_running; then
        local port
        port=$(running_port)
        [[ $port == "$PG_PORT" ]] ||
            die "the cluster in $PG_DIR already runs on port $port, not $PG_PORT; run: $0 stop"
        wait_until_ready
        say "reusing the server on 127.0.0.1:$PG_PORT ($PG_DIR)"
        print_url
        return
    fi

    if port_in_use; then
        die "127.0.0.1:$PG_PORT is taken by something other than the cluster in $PG_DIR; stop it or set TITAN_WEBHOOKS_PG_PORT"
    fi

    is_initialized || init_cluster
    local data_version server_version
    data_version=$(cat "$PG_DIR/PG_VERSION")
    server_version=$("$POSTGRES" --version | sed -E 's/^[^0-9]*([0-9]+).*/\1/')
    [[ $data_version == "$server_version" ]] ||
        die "$PG_DIR was created by PostgreSQL $data_version but the server is $server_version; remove the directory"
    write_settings

    say "starting PostgreSQL $server_version on 127.0.0.1:$PG_PORT ($PG_DIR)"
    if ! as_owner "$PG_CTL" start -D "$PG_DIR" -l "$LOG_FILE" -o "-p $PG_PORT" -w -t "$READY_TIMEOUT" >&2 9>&-; then
        show_log
        die "the server did not start"
    fi
    wait_until_ready
    print_url
}

cmd_stop() {
    find_binaries || die "no PostgreSQL server found"
    take_lock
    choose_owner
    if our_cluster_running; then
        as_owner "$PG_CTL" stop -D "$PG_DIR" -m fast -w >&2 9>&-
    else
        say "no server is running in $PG_DIR"
    fi
}

case ${1:-} in
install) cmd_install ;;
start) cmd_start ;;
stop) cmd_stop ;;
url) print_url ;;
*)
    usage
    exit 2
    ;;
esac
