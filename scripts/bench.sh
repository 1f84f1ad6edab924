#!/usr/bin/env bash
# Performance run: starts a throw-away PostgreSQL (local binaries, on disk,
# default durability) and authd, drives each scenario with cmd/authload on
# loopback, measures the two reference lines in the same run, then runs the
# SQLite store (a file in the same directory, default durability) through
# /me, refresh and login side by side, and writes docs/PERFORMANCE.md.
#
#   scripts/bench.sh                  10s per scenario (about 4 minutes in all)
#   BENCH_DURATION=30s scripts/bench.sh
#   BENCH_OUT=/tmp/perf.md scripts/bench.sh
#
# Each scenario gets a freshly started authd, so its peak RSS is its own.
# Traffic goes only to 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"
DUR="${BENCH_DURATION:-10s}"
C="${BENCH_CONCURRENCY:-32}"
OUT="${BENCH_OUT:-docs/PERFORMANCE.md}"

say() { printf 'bench: %s\n' "$*" >&2; }
if ! command -v jq >/dev/null; then
  say "installing jq"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq jq >/dev/null 2>&1 ||
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq jq >/dev/null; }
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/authd-bench.XXXXXX")"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -n "${pgctl:-}" ] && $pgctl stop -m fast >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "building authd and authload"
go build -o "$work/authd" ./cmd/authd
go build -o "$work/authload" ./cmd/authload
load="$work/authload"

# ---- PostgreSQL: local binaries, data on disk, default durability ----
pgbin=""
for d in "$(dirname "$(command -v postgres 2>/dev/null || echo /nonexistent/x)")" /usr/local/bin /usr/lib/postgresql/*/bin; do
  [ -x "$d/initdb" ] && [ -x "$d/postgres" ] && { pgbin="$d"; break; }
done
[ -n "$pgbin" ] || { say "no initdb/postgres binaries found"; exit 1; }
pgport=$(( 40000 + RANDOM % 10000 ))
pgdata="$work/pgdata"
mkdir -p "$pgdata"
as_pg=()
if [ "$(id -u)" = 0 ]; then
  chown -R postgres "$work"
  as_pg=(runuser -u postgres --)
fi
"${as_pg[@]}" "$pgbin/initdb" -D "$pgdata" -U postgres --auth=trust -E UTF8 >/dev/null
pgctl="${as_pg[*]} $pgbin/pg_ctl -D $pgdata"
$pgctl -o "-p $pgport -k $work -c listen_addresses=127.0.0.1" -l "$work/pg.log" -w start >/dev/null ||
  { say "Postgres did not start:"; tail -20 "$work/pg.log" >&2; exit 1; }
pgversion="$("$pgbin/postgres" --version | awk '{print $3}')"
psql -h 127.0.0.1 -p "$pgport" -U postgres -qc 'CREATE DATABASE authd' >/dev/null
db="postgres://postgres@127.0.0.1:$pgport/authd?sslmode=disable"
"$work/authd" keygen -out "$work/signing.pem" >/dev/null
AUTH_DATABASE_URL="$db" "$work/authd" migrate up >/dev/null

authd_port=$(( 30000 + RANDOM % 10000 ))
base="http://127.0.0.1:$authd_port"
# One load client is one address: the per-IP limit is off, or it would be
# what gets measured.
pg_env=(AUTH_ADDR="127.0.0.1:$authd_port" AUTH_DATABASE_URL="$db" AUTH_SIGNING_KEY_FILE="$work/signing.pem" AUTH_ISSUER="$base" AUTH_IP_RATE_PER_MINUTE=0)
# SQLite: one file next to Postgres' data (same disk), migrated up front
# like Postgres, default synchronous=NORMAL in WAL mode.
sqlite_db="sqlite:$work/sqlite/authd.db"
mkdir -p "$work/sqlite"
AUTH_DATABASE_URL="$sqlite_db" "$work/authd" migrate up >/dev/null
sqlite_env=(AUTH_ADDR="127.0.0.1:$authd_port" AUTH_DATABASE_URL="$sqlite_db" AUTH_SIGNING_KEY_FILE="$work/signing.pem" AUTH_ISSUER="$base" AUTH_IP_RATE_PER_MINUTE=0)
authd_env=("${pg_env[@]}")

start_authd() { # a fresh server, info-level JSON logs to a file (as in production)
  env "${authd_env[@]}" "$work/authd" >>"$work/authd.log" 2>&1 &
  server=$!
  pids+=("$server")
  for _ in $(seq 500); do
    curl -sf -o /dev/null "$base/readyz" && return 0
    sleep 0.01
  done
  say "authd did not become ready"; tail -5 "$work/authd.log" >&2; exit 1
}
stop_authd() { kill "$server"; wait "$server" 2>/dev/null || true; }

results="$work/results.jsonl"
: >"$results"
# scenario NAME AUTHLOAD_ARGS...: one authload run against a fresh authd.
scenario() {
  local name="$1"; shift
  say "$name: $*"
  start_authd
  local rc=0
  "$load" run -url "$base" -json -pid "$server" "$@" >"$work/run.json" || rc=$?
  stop_authd
  [ -s "$work/run.json" ] && jq -c --arg name "$name" '. + {name: $name}' "$work/run.json" >>"$results"
  if [ "$rc" != 0 ]; then # say what went wrong before the work directory goes
    say "$name: authload exit $rc: $(jq -c '{status, transport_errors, retry_after_503}' "$work/run.json" 2>/dev/null)"
    grep -E '"level":"(WARN|ERROR)"' "$work/authd.log" | grep -v EPHEMERAL | tail -5 >&2 || true
    exit 1
  fi
}

# ---- reference lines ----
say "hash limit: argon2id verify at the OWASP parameters, in-process"
hashbench="$(go test -run XXX -bench 'BenchmarkVerifyOWASP' -benchtime 60x ./adapters/argon2)"
verify_ns="$(awk '/^BenchmarkVerifyOWASP-/ {print $3}' <<<"$hashbench")"
parallel_ns="$(awk '/^BenchmarkVerifyOWASPParallel-/ {print $3}' <<<"$hashbench")"
cores="$(nproc)"
hash_limit="$(awk -v c="$cores" -v ns="$verify_ns" 'BEGIN {printf "%.1f", c * 1e9 / ns}')"
hash_parallel="$(awk -v ns="$parallel_ns" 'BEGIN {printf "%.1f", 1e9 / ns}')"

say "HTTP floor: a trivial chi handler under the same load tool"
floor_port=$(( 20000 + RANDOM % 10000 ))
"$load" floor -addr "127.0.0.1:$floor_port" >/dev/null &
floor_pid=$!
pids+=("$floor_pid")
for _ in $(seq 200); do curl -sf -o /dev/null "http://127.0.0.1:$floor_port/" && break; sleep 0.01; done
"$load" run -url "http://127.0.0.1:$floor_port" -scenario get -path / -c "$C" -d "$DUR" -json -pid "$floor_pid" |
  jq -c '. + {name: "floor"}' >>"$results"
kill "$floor_pid"

# ---- authd scenarios ----
scenario me -scenario me -c "$C" -d "$DUR"
scenario refresh -scenario refresh -c "$C" -d "$DUR"
scenario login -scenario login -c "$C" -d "$DUR"
scenario register -scenario register -c "$C" -d "$DUR"
scenario mix -scenario mix -c "$C" -d "$DUR"
scenario login1000 -scenario login -c 1000 -users 1000 -d "$DUR" -allow-errors

# ---- the same hot paths on SQLite ----
authd_env=("${sqlite_env[@]}")
scenario sqlite_me -scenario me -c "$C" -d "$DUR"
scenario sqlite_refresh -scenario refresh -c "$C" -d "$DUR"
scenario sqlite_login -scenario login -c "$C" -d "$DUR"
authd_env=("${pg_env[@]}")

# Exactly-once rotation under load: each refresh worker rotates its own
# session with its latest token, so anything but 200 (a 401 would mean a
# rotation was lost or applied twice; a 5xx a store failure) is a bug.
for n in refresh sqlite_refresh; do
  bad="$(jq -r --arg n "$n" 'select(.name == $n) | ((.status | to_entries | map(select(.key != "200") | .value) | add // 0) + (.transport_errors | to_entries | map(.value) | add // 0))' "$results")"
  if [ "$bad" != 0 ]; then
    say "$n: $bad refreshes answered other than 200 (or not at all): rotation is not exactly-once"
    jq -c --arg n "$n" 'select(.name == $n) | {status, transport_errors}' "$results" >&2
    exit 1
  fi
done

say "start-up to ready (migrations already applied)"
startup_json="$(env "${authd_env[@]}" "$load" startup -url "$base" -runs 10 -json -- "$work/authd")"

# ---- the report ----
get() { jq -r --arg n "$1" "select(.name == \$n) | $2" "$results"; }
floor_rps="$(get floor .throughput_rps)"
row() { # NAME LABEL RATIO_KIND TARGET
  local n="$1" label="$2" kind="$3" target="$4" rps ratio
  rps="$(get "$n" .throughput_rps)"
  case "$kind" in
    hash) ratio="$(awk -v a="$rps" -v b="$hash_limit" -v p="$hash_parallel" 'BEGIN {printf "%.2f x hash limit (%.2f x all-core hashing)", a / b, a / p}')" ;;
    floor) ratio="$(awk -v a="$rps" -v b="$floor_rps" 'BEGIN {printf "%.2f x HTTP floor", a / b}')" ;;
    *) ratio="-" ;;
  esac
  get "$n" "[\"$label\", .concurrency, (.throughput_rps|floor), (.latency_ms.p50*100|round/100), (.latency_ms.p95*100|round/100), (.latency_ms.p99*100|round/100), (.latency_ms.max*10|round/10), (.status|to_entries|map(\"\(.key): \(.value)\")|join(\", \")), (.transport_errors|to_entries|map(.value)|add), (.server_rss.vmhwm_kib/1024|round)] | @tsv" |
    awk -F'\t' -v ratio="$ratio" -v target="$target" '{printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s MiB | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, ratio, target}'
}

{
  echo "# Performance"
  echo
  echo "Generated by \`scripts/bench.sh\` on $(date -u +%Y-%m-%d) ($(date -u +%H:%M) UTC). Do not edit by hand: rerun it."
  echo
  echo "- Machine: $cores cores ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM, $(go env GOVERSION)."
  echo "- PostgreSQL $pgversion on the same machine, data on disk, default settings (fsync and synchronous_commit on)."
  echo "- SQLite: modernc.org/sqlite (pure Go) in authd's process, one file on the same disk as Postgres' data ($(df -T "$work" | awk 'NR == 2 {print $2}')), WAL, \`synchronous=NORMAL\` (the default: a killed process loses nothing acknowledged; a power cut may lose the last commits)."
  echo "- authd: one process, \`AUTH_LOG_LEVEL=info\` (one JSON access-log line per request, to a file), default pool (8 connections on 2 cores), per-IP rate limit off (one load client is one address)."
  echo "- Load: \`cmd/authload\`, one client process on the same machine, keep-alive, ${DUR} measured after 1 s warm-up, each authd scenario on a freshly started server."
  echo "- **Hash limit**: $cores cores / one argon2id verify (m=19 MiB, t=2, p=1) of $(awk -v ns="$verify_ns" 'BEGIN {printf "%.1f ms", ns / 1e6}') in-process = **$hash_limit logins/s**."
  echo "- **All-core hashing** (for comparison): $cores verifies at once in-process take $(awk -v ns="$parallel_ns" 'BEGIN {printf "%.1f ms", ns / 1e6}') of wall time per verify = **$hash_parallel verifies/s**: running side by side they share memory bandwidth and the garbage collector, so this, not the hash limit, is what the machine can hash."
  echo "- **HTTP floor**: a trivial chi handler under the same tool = **$(printf '%.0f' "$floor_rps") req/s**."
  echo
  echo "| scenario | c | req/s | p50 ms | p95 ms | p99 ms | max ms | statuses | transport errors | server peak RSS | ratio | target |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
  row floor "HTTP floor (GET / on chi)" none "reference"
  row me "GET /v1/users/me" floor ">= 8,000 req/s, p99 < 10 ms"
  row refresh "POST /v1/auth/refresh (rotation)" floor ">= 3,000 req/s, p99 < 20 ms"
  row login "POST /v1/auth/login" hash ">= 0.9 x hash limit, 0 errors"
  row register "POST /v1/auth/register" hash "(hash-bound, like login)"
  row mix "mix 70% me / 20% refresh / 8% login / 2% register" none "-"
  row login1000 "POST /v1/auth/login, 1,000 concurrent" none "RSS < 256 MiB; only 200/401 or 503 + Retry-After"
  row sqlite_me "SQLite: GET /v1/users/me" floor ">= 0.8 x Postgres /me"
  row sqlite_refresh "SQLite: POST /v1/auth/refresh (rotation)" floor ">= 2,000 req/s, only 200"
  row sqlite_login "SQLite: POST /v1/auth/login" hash "(hash-bound)"
  echo
  echo "### SQLite and Postgres side by side (same run, same machine, c=$C)"
  echo
  echo "| | Postgres | SQLite | SQLite / Postgres | target |"
  echo "|---|---|---|---|---|"
  side() { # LABEL PG_NAME SQLITE_NAME TARGET
    local pg sq
    pg="$(get "$2" .throughput_rps)"; sq="$(get "$3" .throughput_rps)"
    awk -v l="$1" -v pg="$pg" -v sq="$sq" -v t="$4" -v pp="$(get "$2" .latency_ms.p99)" -v sp="$(get "$3" .latency_ms.p99)" \
      'BEGIN {printf "| %s | %.0f req/s (p99 %.1f ms) | %.0f req/s (p99 %.1f ms) | %.2f | %s |\n", l, pg, pp, sq, sp, sq / pg, t}'
  }
  side "GET /v1/users/me" me sqlite_me ">= 0.8"
  side "POST /v1/auth/refresh (rotation)" refresh sqlite_refresh "SQLite >= 2,000 req/s"
  side "POST /v1/auth/login" login sqlite_login "both hash-bound: $(awk -v a="$(get sqlite_login .throughput_rps)" -v b="$hash_limit" -v p="$hash_parallel" 'BEGIN {printf "SQLite %.2f x hash limit, %.2f x all-core hashing", a / b, a / p}')"
  echo
  echo "Refresh statuses (one client per session, always its latest token; anything but 200 fails the run): Postgres $(get refresh '.status|to_entries|map("\(.key): \(.value)")|join(", ")'), SQLite $(get sqlite_refresh '.status|to_entries|map("\(.key): \(.value)")|join(", ")')."
  echo
  echo "1,000 concurrent logins: $(get login1000 '.retry_after_503') of the 503 answers carried Retry-After; slowest answer $(get login1000 '.latency_ms.max/1000*100|round/100') s."
  echo
  echo "Start-up to ready (process exec to first 200 on /readyz, migrations already applied, $(jq -r '.runs|length' <<<"$startup_json") runs): min $(jq -r '.min_ms*10|round/10' <<<"$startup_json") ms, median $(jq -r '.median_ms*10|round/10' <<<"$startup_json") ms, max $(jq -r '.max_ms*10|round/10' <<<"$startup_json") ms (target < 200 ms)."
} >"$work/table.md"

# Keep the hand-written analysis below the generated part.
marker='<!-- end of generated part -->'
{
  cat "$work/table.md"
  echo
  echo "$marker"
  if [ -f "$OUT" ] && grep -q "$marker" "$OUT"; then
    sed -n "/$marker/,\$p" "$OUT" | tail -n +2
  fi
} >"$work/out.md"
mv "$work/out.md" "$OUT"
say "wrote $OUT"
cat "$work/table.md"
