#!/usr/bin/env bash
# Make a PostgreSQL server available for the store tests (tests/pgcluster.py starts a throwaway
# cluster from it) and print the directory holding pg_ctl and initdb.
# Idempotent: installs Debian's postgresql package only when no pg_ctl can be found.
# Usage: PG_BIN="$(bash .ci/postgres.sh)" && export PATH="$PG_BIN:$PATH"
set -euo pipefail

find_bin() {
  local found
  if found="$(command -v pg_ctl 2>/dev/null)"; then
    found="$(dirname "$(readlink -f "$found")")"
    if [ -x "$found/initdb" ]; then
      echo "$found"
      return 0
    fi
  fi
  # Debian keeps the server tools out of PATH, in /usr/lib/postgresql/<version>/bin: take the newest.
  found="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -n | tail -n 1 || true)"
  if [ -n "$found" ] && [ -x "$found/pg_ctl" ] && [ -x "$found/initdb" ]; then
    echo "$found"
    return 0
  fi
  return 1
}

if ! bin="$(find_bin)"; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "postgres.sh: no PostgreSQL server found, and installing one needs root (apt-get install postgresql)" >&2
    exit 1
  fi
  echo "postgres.sh: installing Debian's postgresql package" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends postgresql >&2
  bin="$(find_bin)" || { echo "postgres.sh: postgresql installed but pg_ctl not found" >&2; exit 1; }
fi
# The tests run the server as the postgres user when they run as root (initdb refuses root).
if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
  echo "postgres.sh: running as root but there is no postgres user to run the server as" >&2
  exit 1
fi
echo "$bin"
