#!/usr/bin/env bash
# Soak run (not in CI): does pruning keep the tables bounded under a long
# stream of refreshes? Starts a throw-away authd on loopback (SQLite by
# default, or a throw-away local Postgres) with short refresh/session
# lifetimes and a short prune interval, so spent tokens expire and must be
# pruned within the run, drives refreshes at concurrency 16 with
# cmd/authload (one run), and every SOAK_SAMPLE seconds samples: the
# refresh_tokens and sessions row counts, refresh throughput since the last
# sample (from /metrics), /me throughput (a short /me run at c4 beside the
# refreshes), the server's RSS and the pruner's counters. Prints one table
# row per sample.
#
#   scripts/soak.sh                              2,500,000 refreshes, SQLite (about 30 min on 2 cores)
#   SOAK_STORE=postgres scripts/soak.sh          the same on Postgres (local binaries)
#   SOAK_REFRESHES=1000000 scripts/soak.sh       one million, about 12 minutes
#
# Knobs (defaults): SOAK_REFRESHES (2500000), SOAK_C (16), SOAK_SAMPLE
# (seconds between samples, 60), SOAK_PRUNE_INTERVAL (30s),
# SOAK_REFRESH_TTL (2m: a spent token may go two minutes after it was
# issued), SOAK_ME_DURATION (3s), SOAK_AUDIT_RETENTION (empty: the
# service's default, 90 days, so no event is due within a soak; 5m shows the
# audit log bounded too). Traffic goes only to 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"
STORE="${SOAK_STORE:-sqlite}"
TOTAL="${SOAK_REFRESHES:-2500000}"
C="${SOAK_C:-16}"
SAMPLE="${SOAK_SAMPLE:-60}"
PRUNE="${SOAK_PRUNE_INTERVAL:-30s}"
RTTL="${SOAK_REFRESH_TTL:-2m}"
ME_DUR="${SOAK_ME_DURATION:-3s}"
AUDIT="${SOAK_AUDIT_RETENTION:-}"

say() { printf 'soak: %s\n' "$*" >&2; }
for tool in jq curl bc; do command -v "$tool" >/dev/null || { say "needs $tool"; exit 1; }; done

work="$(mktemp -d "${TMPDIR:-/tmp}/authd-soak.XXXXXX")"
server=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
  [ -n "${pgctl:-}" ] && $pgctl stop -m fast >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "building authd and authload"
go build -o "$work/authd" ./cmd/authd
go build -o "$work/authload" ./cmd/authload
"$work/authd" keygen -out "$work/signing.pem" >/dev/null

case "$STORE" in
sqlite)
  command -v sqlite3 >/dev/null || { say "needs sqlite3 (to count rows)"; exit 1; }
  mkdir -p "$work/sqlite"
  db="sqlite:$work/sqlite/authd.db"
  count() { sqlite3 "file:$work/sqlite/authd.db?mode=ro" "SELECT count(*) FROM $1"; }
  ;;
postgres)
  pgbin=""
  for d in "$(dirname "$(command -v postgres 2>/dev/null || echo /nonexistent/x)")" /usr/local/bin /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && [ -x "$d/postgres" ] && { pgbin="$d"; break; }
  done
  [ -n "$pgbin" ] || { say "no initdb/postgres binaries found"; exit 1; }
  pgport=$(( 40000 + RANDOM % 10000 ))
  mkdir -p "$work/pgdata"
  as_pg=()
  if [ "$(id -u)" = 0 ]; then chown -R postgres "$work"; as_pg=(runuser -u postgres --); fi
  "${as_pg[@]}" "$pgbin/initdb" -D "$work/pgdata" -U postgres --auth=trust -E UTF8 >/dev/null
  pgctl="${as_pg[*]} $pgbin/pg_ctl -D $work/pgdata"
  $pgctl -o "-p $pgport -k $work -c listen_addresses=127.0.0.1" -l "$work/pg.log" -w start >/dev/null
  psql -h 127.0.0.1 -p "$pgport" -U postgres -qc 'CREATE DATABASE authd' >/dev/null
  db="postgres://postgres@127.0.0.1:$pgport/authd?sslmode=disable"
  count() { psql -h 127.0.0.1 -p "$pgport" -U postgres -d authd -tAc "SELECT count(*) FROM $1"; }
  ;;
*) say "SOAK_STORE must be sqlite or postgres"; exit 2 ;;
esac
AUTH_DATABASE_URL="$db" "$work/authd" migrate up >/dev/null

port=$(( 30000 + RANDOM % 10000 ))
base="http://127.0.0.1:$port"
env AUTH_ADDR="127.0.0.1:$port" AUTH_DATABASE_URL="$db" AUTH_SIGNING_KEY_FILE="$work/signing.pem" \
  AUTH_ISSUER="$base" AUTH_IP_RATE_PER_MINUTE=0 \
  AUTH_ACCESS_TTL=1m AUTH_REFRESH_TTL="$RTTL" AUTH_SESSION_IDLE_TTL="$RTTL" AUTH_SESSION_MAX_AGE=24h \
  AUTH_PRUNE_INTERVAL="$PRUNE" AUTH_LOG_LEVEL=warn ${AUDIT:+AUTH_AUDIT_RETENTION="$AUDIT"} \
  "$work/authd" >>"$work/authd.log" 2>&1 &
server=$!
for _ in $(seq 500); do curl -sf -o /dev/null "$base/readyz" && break; sleep 0.01; done
curl -sf -o /dev/null "$base/readyz" || { say "authd did not become ready"; tail -5 "$work/authd.log" >&2; exit 1; }

rss_mib() { awk '/^VmRSS:/ {printf "%.0f", $2/1024}' "/proc/$server/status"; }
metric() { curl -s "$base/metrics" | awk -v m="$1" '$1 == m {printf "%d", $2; found=1} END {if (!found) printf "0"}'; }

say "store $STORE, $TOTAL refreshes at c$C, a sample every $SAMPLE, prune every $PRUNE, refresh TTL $RTTL, audit retention ${AUDIT:-default}"
# One refresh run for the whole soak (its setup, c registrations and
# logins, happens once); the samples read its progress from /metrics.
"$work/authload" run -url "$base" -scenario refresh -c "$C" -n "$TOTAL" -d 0 -warmup 0 -json >"$work/refresh.json" &
load=$!
refreshed() { metric 'authd_auth_operations_total{operation="refresh",outcome="success"}'; }
printf '%8s %10s %12s %9s %10s %9s %10s %8s %14s %14s %6s\n' elapsed refreshes refresh_rps me_rps tokens sessions events rss_mib pruned_tokens pruned_events runs
start=$(date +%s.%N)
prev_n=0 prev_t=$start
while kill -0 "$load" 2>/dev/null; do
  sleep "$SAMPLE"
  kill -0 "$load" 2>/dev/null || break
  # /me under the refresh load: a short run of its own (4 clients).
  me=$("$work/authload" run -url "$base" -scenario me -c 4 -d "$ME_DUR" -json 2>/dev/null | jq .throughput_rps) || me=-
  n=$(refreshed) t=$(date +%s.%N)
  printf '%7.0fs %10d %12.0f %9.0f %10s %9s %10s %8s %14s %14s %6s\n' "$(echo "$t - $start" | bc)" "$n" \
    "$(echo "($n - $prev_n) / ($t - $prev_t)" | bc -l)" "${me:-0}" \
    "$(count refresh_tokens)" "$(count sessions)" "$(count auth_events)" "$(rss_mib)" \
    "$(metric 'authd_pruned_rows_total{table="refresh_tokens"}')" "$(metric 'authd_pruned_rows_total{table="audit_events"}')" \
    "$(metric 'authd_prune_runs_total{result="ok"}')"
  prev_n=$n prev_t=$t
done
wait "$load" || { say "the refresh run failed: $(jq -c '{status, transport_errors}' "$work/refresh.json" 2>/dev/null)"; tail -5 "$work/authd.log" >&2; exit 1; }
say "refresh run: $(jq -c '{requests, throughput_rps, status, latency_ms}' "$work/refresh.json")"
prune_sum=$(curl -s "$base/metrics" | awk '$1 == "authd_prune_duration_seconds_sum" {print $2}')
say "prune runs: $(metric 'authd_prune_runs_total{result="ok"}') ok, $(metric 'authd_prune_runs_total{result="error"}') failed, $(echo "${prune_sum:-0}" | awk '{printf "%.2f", $1}') s in all"
if grep -q '"msg":"prune failed"' "$work/authd.log"; then
  say "prune failures:"; grep '"msg":"prune failed"' "$work/authd.log" | tail -3 >&2; exit 1
fi
