#!/usr/bin/env bash
# Compose smoke test: builds the stack from locally built images, waits for
# health, checks the mailpit service answers on its published port, walks
# register -> login -> /me through the published port,
# restarts the authd container and checks the user and the signing key
# survived, then removes everything (down -v), also on failure or timeout.
#
#   scripts/compose-smoke.sh          (needs Docker; builds missing base images)
set -euo pipefail
cd "$(dirname "$0")/.."
LIMIT="${SMOKE_TIMEOUT:-120}" # seconds to wait for each health transition

if docker compose version >/dev/null 2>&1; then
  compose=(docker compose)
else
  compose=(docker-compose)
fi
export COMPOSE_PROJECT_NAME="authd-smoke-$$"
export POSTGRES_IMAGE="${POSTGRES_IMAGE:-authd-test/postgres:17}"
export GO_IMAGE="${GO_IMAGE:-authd-build/golang:1.26}"
export MAILPIT_IMAGE="${MAILPIT_IMAGE:-authd-test/mailpit:v1.33.1}"
export AUTHD_IMAGE="${AUTHD_IMAGE:-authd:smoke}"
export AUTHD_PORT=0 MAILPIT_UI_PORT=0 # any free ports on 127.0.0.1; asked for below

say() { printf 'smoke: %s\n' "$*" >&2; }
fail() { say "FAIL: $*"; "${compose[@]}" logs --no-color --tail=50 >&2 || true; exit 1; }
cleanup() {
  rm -f "${body_file:-}"
  "${compose[@]}" down -v --remove-orphans --timeout 10 >/dev/null 2>&1 || true
  left="$(docker ps -aq --filter "label=com.docker.compose.project=$COMPOSE_PROJECT_NAME")$(docker volume ls -q --filter "label=com.docker.compose.project=$COMPOSE_PROJECT_NAME")"
  [ -z "$left" ] || { say "cleanup left: $left"; exit 1; }
}
trap cleanup EXIT
trap "exit 130" INT TERM # so that cleanup runs when a timeout stops us

scripts/postgres-image.sh "$POSTGRES_IMAGE"
scripts/golang-image.sh "$GO_IMAGE"
scripts/mailpit-image.sh "$MAILPIT_IMAGE"

start=$(date +%s)
say "building $AUTHD_IMAGE and starting the stack (${compose[*]})"
quiet() { # runs a command, showing its output only when it fails
  local out
  out="$("$@" 2>&1)" || { printf '%s\n' "$out" >&2; fail "$*"; }
}
quiet "${compose[@]}" build authd
quiet "${compose[@]}" up -d --no-build

wait_healthy() {
  local id status deadline=$(( $(date +%s) + LIMIT ))
  while :; do
    id="$("${compose[@]}" ps -q authd)"
    status="$( [ -n "$id" ] && docker inspect -f '{{.State.Health.Status}}' "$id" 2>/dev/null || echo starting)"
    [ "$status" = healthy ] && return 0
    [ "$(date +%s)" -lt "$deadline" ] || fail "authd not healthy after ${LIMIT}s (last: $status)"
    sleep 1
  done
}
wait_healthy
base="http://$("${compose[@]}" port authd 8080 | sed 's/^0\.0\.0\.0/127.0.0.1/')"
say "healthy after $(( $(date +%s) - start ))s at $base"

# The mail catcher authd's AUTH_SMTP_URL points at: its API answers.
mailpit="http://$("${compose[@]}" port mailpit 8025 | sed 's/^0\.0\.0\.0/127.0.0.1/')"
for try in $(seq 20); do
  curl -sf --max-time 5 -o /dev/null "$mailpit/api/v1/messages" && break
  [ "$try" -lt 20 ] || fail "mailpit API at $mailpit does not answer"
  sleep 0.5
done
say "mailpit answers at $mailpit"

# The demo web app serves its page, pointed at authd.
web="http://$("${compose[@]}" port web 3000 | sed 's/^0\.0\.0\.0/127.0.0.1/')"
for try in $(seq 20); do
  curl -sf --max-time 5 "$web/config.js" | grep -q "AUTHD_URL" && curl -sf --max-time 5 "$web/" | grep -qi "<html" && break
  [ "$try" -lt 20 ] || fail "the demo web app at $web does not serve its page"
  sleep 0.5
done
say "the demo web app answers at $web"

# Sign-up queues a verification mail; the courier delivers it to mailpit.

# call METHOD PATH WANT_STATUS [BODY] [BEARER]: prints the response body.
body_file="$(mktemp)"
call() {
  local args=(-sS -o "$body_file" -w '%{http_code}' -X "$1" "$base$2" --max-time 10)
  [ -n "${4:-}" ] && args+=(-H 'Content-Type: application/json' --data "$4")
  [ -n "${5:-}" ] && args+=(-H "Authorization: Bearer $5")
  local code
  code="$(curl "${args[@]}")" || fail "$1 $2: curl failed"
  [ "$code" = "$3" ] || fail "$1 $2: status $code, want $3: $(cat "$body_file")"
  say "$1 $2 -> $code"
  cat "$body_file"
}
field() { sed -n "s/.*\"$1\":\"\\([^\"]*\\)\".*/\\1/p"; }

email="smoke-$$-$(date +%s)@example.com"
creds="{\"email\":\"$email\",\"password\":\"correct horse battery staple\"}"
call POST /v1/auth/register 201 "$creds" >/dev/null
token="$(call POST /v1/auth/login 200 "$creds" | field access_token)"
[ -n "$token" ] || fail "login returned no access_token"
me="$(call GET /v1/users/me 200 "" "$token")"
case "$me" in *"\"$email\""*) ;; *) fail "/v1/users/me does not show $email: $me" ;; esac
for try in $(seq 40); do
  curl -sf --max-time 5 "$mailpit/api/v1/messages" | grep -qF "$email" && break
  [ "$try" -lt 40 ] || fail "no verification mail for $email reached mailpit"
  sleep 0.5
done
say "the verification mail reached mailpit"

say "restarting the authd container"
"${compose[@]}" restart -t 10 authd >/dev/null 2>&1
wait_healthy
base="http://$("${compose[@]}" port authd 8080 | sed 's/^0\.0\.0\.0/127.0.0.1/')"
call GET /v1/users/me 200 "" "$token" >/dev/null # same key after restart: the volume kept it
token2="$(call POST /v1/auth/login 200 "$creds" | field access_token)" # the user is still there
[ -n "$token2" ] || fail "login after restart returned no access_token"
call POST /v1/auth/register 409 "$creds" >/dev/null

# No secret in the service logs.
logs="$("${compose[@]}" logs --no-color authd 2>&1)"
for secret in "correct horse battery staple" "$token" "$token2"; do
  case "$logs" in *"$secret"*) fail "a password or token reached the authd log" ;; esac
done
say "passed in $(( $(date +%s) - start ))s"
