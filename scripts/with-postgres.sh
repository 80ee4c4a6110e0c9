#!/usr/bin/env bash
# Runs CMD… next to a private, throw-away PostgreSQL: initdb into a temp dir, pg_ctl start on a
# Unix socket in that dir (no TCP port: listen_addresses=''), one database `renkei` with
# pg_trgm, RENKEI_TEST_DATABASE_URL exported for CMD, then a fast stop and the dir removed —
# nothing left running, no system service. Exit code = CMD's.
#
#   scripts/with-postgres.sh cargo test -p renkei-core --test store_conformance
#
# Needs Debian's `postgresql` package (scripts/install-system-deps.sh --test installs it).
# As root, the server runs as the `postgres` user (initdb refuses root).
set -euo pipefail

PGBIN="${PGBIN:-}"
if [[ -z "$PGBIN" ]]; then
  for d in /usr/lib/postgresql/*/bin; do
    [[ -x "$d/initdb" ]] && PGBIN="$d"
  done
fi
if [[ -z "$PGBIN" || ! -x "$PGBIN/initdb" ]]; then
  echo "with-postgres: PostgreSQL server binaries not found (initdb). Install them with" >&2
  echo "  sudo scripts/install-system-deps.sh --test   (Debian package: postgresql)" >&2
  exit 2
fi
if [[ $# -eq 0 ]]; then
  echo "usage: scripts/with-postgres.sh CMD [ARGS…]" >&2
  exit 2
fi

D="$(mktemp -d /tmp/renkei-pg.XXXXXX)"
as_pg() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}
[[ $(id -u) -eq 0 ]] && chown postgres "$D"
stop() {
  as_pg "$PGBIN/pg_ctl" -D "$D/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$D"
}
trap stop EXIT
trap 'exit 130' INT TERM

as_pg "$PGBIN/initdb" -D "$D/data" -A trust -U renkei --encoding=UTF8 --locale=C.UTF-8 >"$D/initdb.log" 2>&1 \
  || { cat "$D/initdb.log" >&2; exit 1; }
as_pg "$PGBIN/pg_ctl" -D "$D/data" -o "-k $D -c listen_addresses='' -c max_connections=200 -c fsync=${RENKEI_PG_FSYNC:-on}" \
  -l "$D/log" -w start >/dev/null || { cat "$D/log" >&2; exit 1; }
"$PGBIN/psql" -h "$D" -U renkei -d postgres -qAt -c "CREATE DATABASE renkei" >/dev/null
"$PGBIN/psql" -h "$D" -U renkei -d renkei -qAt -c "CREATE EXTENSION IF NOT EXISTS pg_trgm" >/dev/null

# The socket dir goes in the host parameter, percent-encoded ('/' → %2F).
export RENKEI_TEST_DATABASE_URL="postgresql://renkei@${D//\//%2F}/renkei"
export RENKEI_PG_SOCKET_DIR="$D"
set +e
"$@"
rc=$?
set -e
exit $rc
