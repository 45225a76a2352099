#!/usr/bin/env bash
# Throw-away PostgreSQL and Redis servers on 127.0.0.1 for the integration tests.
#   eval "$(tools/services.sh start)"   # starts both, prints the TEST_*_URL variables to export
#   tools/services.sh stop
# Needs Debian's postgresql and redis-server packages (.ci/run installs them).
set -euo pipefail
cd /  # the postgres user may not enter the caller's folder; every path below is absolute
state=${SERVICES_DIR:-/tmp/library-services}
pg_port=${TEST_PG_PORT:-54329}
redis_port=${TEST_REDIS_PORT:-63799}
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
as_postgres() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi; }

case "${1:-}" in
start)
  [ -x "$pg_bin/initdb" ] || { echo "PostgreSQL not found: apt-get install postgresql" >&2; exit 1; }
  command -v redis-server >/dev/null || { echo "Redis not found: apt-get install redis-server" >&2; exit 1; }
  mkdir -p "$state"
  if [ "$(id -u)" = 0 ]; then chown postgres "$state"; fi
  if [ ! -f "$state/pg/PG_VERSION" ]; then
    # trust on loopback only, a C locale for byte-order sorting: a test cluster, not a server
    as_postgres "$pg_bin/initdb -D $state/pg -U postgres -A trust -E UTF8 --locale=C" >/dev/null
  fi
  as_postgres "$pg_bin/pg_isready -q -h 127.0.0.1 -p $pg_port" || as_postgres \
    "$pg_bin/pg_ctl -D $state/pg -l $state/pg.log -w -o '-p $pg_port -k $state -c listen_addresses=127.0.0.1 -c fsync=on' start" >/dev/null
  as_postgres "$pg_bin/psql -h 127.0.0.1 -p $pg_port -U postgres -tAc \"select 1 from pg_database where datname='library_test'\"" | grep -q 1 ||
    as_postgres "$pg_bin/createdb -h 127.0.0.1 -p $pg_port -U postgres library_test"
  redis-cli -p "$redis_port" ping >/dev/null 2>&1 ||
    redis-server --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no \
      --daemonize yes --pidfile "$state/redis.pid" --logfile "$state/redis.log"
  for _ in $(seq 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  echo "export TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:$pg_port/library_test"
  echo "export TEST_REDIS_URL=redis://127.0.0.1:$redis_port/0"
  ;;
stop)
  [ -f "$state/pg/PG_VERSION" ] && as_postgres "$pg_bin/pg_ctl -D $state/pg -m fast stop" >/dev/null || true
  redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true
  ;;
*)
  echo "usage: $0 start|stop" >&2
  exit 2
  ;;
esac
