#!/bin/bash
# Entrypoint of authd's locally built PostgreSQL image. It follows the
# official image's contract: POSTGRES_USER / POSTGRES_PASSWORD / POSTGRES_DB,
# /docker-entrypoint-initdb.d, PGDATA, runs the server as the postgres user,
# and prints "database system is ready to accept connections" once for the
# init server and once for the real one, which is what testcontainers'
# postgres module waits for.
set -Eeuo pipefail

export PATH="/usr/lib/postgresql/17/bin:$PATH"
export PGDATA="${PGDATA:-/var/lib/postgresql/data}"

if [ "${1:0:1}" = '-' ]; then
	set -- postgres "$@"
fi

if [ "$1" = 'postgres' ] && [ "$(id -u)" = '0' ]; then
	mkdir -p "$PGDATA" /var/run/postgresql
	chown -R postgres:postgres "$PGDATA" /var/run/postgresql
	chmod 700 "$PGDATA"
	exec setpriv --reuid=postgres --regid=postgres --init-groups "$BASH_SOURCE" "$@"
fi

if [ "$1" = 'postgres' ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
	POSTGRES_USER="${POSTGRES_USER:-postgres}"
	POSTGRES_DB="${POSTGRES_DB:-$POSTGRES_USER}"
	auth="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"
	if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "$auth" != 'trust' ]; then
		echo >&2 'error: POSTGRES_PASSWORD is not set (set it, or POSTGRES_HOST_AUTH_METHOD=trust for throw-away test databases)'
		exit 1
	fi
	pwfile="$(mktemp)"
	trap 'rm -f "$pwfile"' EXIT
	printf '%s\n' "${POSTGRES_PASSWORD:-}" >"$pwfile"
	initdb --username="$POSTGRES_USER" --pwfile="$pwfile" --encoding=UTF8 --locale=C.UTF-8 \
		--auth-local=trust --auth-host="$auth" -D "$PGDATA" ${POSTGRES_INITDB_ARGS:-} >/dev/null
	rm -f "$pwfile"
	printf '\nhost all all all %s\n' "$auth" >>"$PGDATA/pg_hba.conf"
	printf "\nlisten_addresses = '*'\n" >>"$PGDATA/postgresql.conf"

	# A private init server: no TCP, only the socket.
	pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p 5432" -w start
	export PGUSER="$POSTGRES_USER" PGHOST=/var/run/postgresql
	if [ "$POSTGRES_DB" != 'postgres' ]; then
		psql -v ON_ERROR_STOP=1 --dbname postgres --set db="$POSTGRES_DB" -q <<-'SQL'
			CREATE DATABASE :"db";
		SQL
	fi
	for f in /docker-entrypoint-initdb.d/*; do
		case "$f" in
		*.sh) echo "running $f"; . "$f" ;;
		*.sql) echo "running $f"; psql -v ON_ERROR_STOP=1 --dbname "$POSTGRES_DB" -q -f "$f" ;;
		*.sql.gz) echo "running $f"; gunzip -c "$f" | psql -v ON_ERROR_STOP=1 --dbname "$POSTGRES_DB" -q ;;
		*) [ -e "$f" ] && echo "ignoring $f" ;;
		esac
	done
	unset PGUSER PGHOST
	pg_ctl -D "$PGDATA" -m fast -w stop
	echo
	echo 'PostgreSQL init process complete; ready for start up.'
	echo
fi

exec "$@"
