#!/usr/bin/env bash
# Starts a throwaway PostgreSQL server on loopback for the tests and prints its URL.
# Installs the Debian package when the server binaries are missing.
set -euo pipefail
port="${BOTC_PG_PORT:-55432}"
data="${BOTC_PG_DATA:-/tmp/botc-pg-$port}"

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
  bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
fi

# PostgreSQL refuses to run as root: run it as the postgres system user (made if missing).
if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
  useradd --system --no-create-home --shell /usr/sbin/nologin postgres
fi
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

if ! as_pg "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
  rm -rf "$data"
  mkdir -p "$data"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$data"
  as_pg "$bindir/initdb" -D "$data" -U botc -A trust --no-sync >/dev/null
  as_pg "$bindir/pg_ctl" -D "$data" -w -l "$data/server.log" \
    -o "-p $port -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null
fi
as_pg "$bindir/psql" -h 127.0.0.1 -p "$port" -U botc -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'botc_test'" | grep -q 1 \
  || as_pg "$bindir/createdb" -h 127.0.0.1 -p "$port" -U botc botc_test
echo "postgres://botc@127.0.0.1:$port/botc_test"
