#!/usr/bin/env bash
# Run the dashboard locally the way production runs it (DEBUG off, gunicorn, collected static files):
#   1. Neo4j, embedded, in var/neo4j-dev on 127.0.0.1:${NEO4J_PORT:-7687} (skipped if NEO4J_BOLT_URL
#      is set, e.g. to use a server you started yourself),
#   2. migrate, install_schema, collectstatic,
#   3. nginx on 127.0.0.1:${PORT:-8000} (scripts/proxy_server.py: it reads each request whole, with
#      header and body timeouts, before gunicorn sees it), in front of
#   4. gunicorn on the unix socket var/run/gunicorn.sock,
#   5. the alert worker (manage.py deliver_alerts: detects alerts in Neo4j, sends them; docs/alerts.md),
#   6. unless DEMO=0, the simulator that feeds demo executions into the running server.
# Ctrl-C (or SIGTERM) stops all of them, Neo4j last and cleanly. Normally started by `make run`.
# var/ is MIMIR_VAR_DIR when that is set (the settings read it too).
set -euo pipefail
cd "$(dirname "$0")/.."

PY=.venv/bin/python
PORT=${PORT:-8000}
NEO4J_PORT=${NEO4J_PORT:-7687}
VAR=${MIMIR_VAR_DIR:-var}
NEO4J_PID='' GUNICORN_PID='' PROXY_PID='' ALERTS_PID='' SIM_PID=''
mkdir -p "$VAR/run"
SOCKET=$(cd "$VAR/run" && pwd)/gunicorn.sock

[[ -x $PY ]] || { echo "no virtualenv in .venv: run 'make run' instead" >&2; exit 1; }

# --- shutdown ------------------------------------------------------------------------------------
stop_pid() {  # SIGTERM a child and wait for it; each child handles its own graceful shutdown
  local pid=$1
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  trap - INT TERM EXIT  # run once, even if another signal arrives meanwhile
  # Reverse order of start: the simulator needs the proxy, the proxy gunicorn, gunicorn Neo4j; the
  # alert worker needs Neo4j and the database only (it finishes the send in progress on SIGTERM).
  stop_pid "$SIM_PID"
  stop_pid "$ALERTS_PID"
  stop_pid "$PROXY_PID"
  stop_pid "$GUNICORN_PID"
  if [[ -n $NEO4J_PID ]]; then
    echo "stopping Neo4j ..." >&2
    stop_pid "$NEO4J_PID"  # the script stops the JVM cleanly (and SIGKILLs it after 30 s)
  fi
}
# `wait` below returns as soon as a trapped signal arrives, so Ctrl-C is handled at once.
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM
trap 'rc=$?; cleanup; exit $rc' EXIT

# Wait until a child started in the background prints its ready line (e.g. NEO4J_READY) into its
# log; if it exits first, say so with the log's end and stop. The children give up by themselves
# after their own timeout, so this cannot wait forever.
wait_ready() {  # pid variable name, ready word, log, what it is
  local -n pid_ref=$1
  until grep -qs "^$2" "$3"; do
    if ! kill -0 "$pid_ref" 2>/dev/null; then
      pid_ref=''
      echo "$4 did not start:" >&2
      tail -n 20 "$3" >&2
      exit 1
    fi
    sleep 0.2
  done
}

# --- environment -----------------------------------------------------------------------------------
# Nothing to export: in development (DJANGO_ENV unset) the settings find the secret key in
# var/dev-secret-key, the loopback host names and, below, the Neo4j this script starts, as any
# manage.py command in another shell does.
unset DJANGO_DEBUG  # production-like, also in development

# --- Neo4j -----------------------------------------------------------------------------------------
if [[ -z ${NEO4J_BOLT_URL:-} ]]; then
  log=$VAR/neo4j-dev.log
  echo "starting Neo4j on 127.0.0.1:$NEO4J_PORT (log: $log, data: $VAR/neo4j-dev) ..."
  "$PY" scripts/neo4j_server.py run --home "$VAR/neo4j-dev" --port "$NEO4J_PORT" >"$log" 2>&1 &
  NEO4J_PID=$!
  # The script prints NEO4J_READY only after a Bolt connection succeeded, and exits (non-zero)
  # on failure or after its own 120 s timeout.
  wait_ready NEO4J_PID NEO4J_READY "$log" "Neo4j"
  # For this script's commands and for any manage.py in another shell (read by the settings).
  echo "bolt://127.0.0.1:$NEO4J_PORT" >"$VAR/dev-neo4j-url"
  # Production settings read nothing from var/.
  [[ ${DJANGO_ENV:-} != production ]] || export NEO4J_BOLT_URL="bolt://127.0.0.1:$NEO4J_PORT"
else
  rm -f "$VAR/dev-neo4j-url"  # it names only a Neo4j started here; other shells need NEO4J_BOLT_URL too
fi

# --- Django ----------------------------------------------------------------------------------------
"$PY" manage.py migrate --noinput
"$PY" manage.py install_schema
# A graph kept in var/ from an older version gets the facts newer writes derive (no-op otherwise).
"$PY" manage.py rederive_graph --if-needed
"$PY" manage.py collectstatic --noinput

# --- the proxy, then gunicorn behind it --------------------------------------------------------------
# Only nginx listens on the port. It answers 503 (JSON, Retry-After) until gunicorn is up.
log=$VAR/proxy.log
"$PY" scripts/proxy_server.py run --home "$VAR/nginx" --port "$PORT" --upstream "unix:$SOCKET" >"$log" 2>&1 &
PROXY_PID=$!
wait_ready PROXY_PID PROXY_READY "$log" "the proxy (nginx)"  # the script gives up by itself after 30 s

# Worker class, access log and control socket: mimir_dashboard/gunicorn_conf.py.
# Sign-in failures are counted per client address: on the unix socket every request comes from
# nginx, which appends the client's address to X-Forwarded-For, so one trusted proxy.
# Prometheus multi-process mode (executions/metrics.py): each worker writes its metrics into files
# here and a scrape of /metrics adds them up. Emptied at every start: a previous run's files would
# be added to this one's. A process of its own that counts metrics (deliver_alerts) gets it too.
METRICS_DIR=$(cd "$VAR" && pwd)/prometheus
rm -rf "$METRICS_DIR"
mkdir -p "$METRICS_DIR"
rm -f "$SOCKET"
PROMETHEUS_MULTIPROC_DIR=$METRICS_DIR TRUSTED_PROXY_COUNT=${TRUSTED_PROXY_COUNT:-1} .venv/bin/gunicorn -c python:mimir_dashboard.gunicorn_conf mimir_dashboard.wsgi:application \
  --bind "unix:$SOCKET" --workers 2 --threads 4 &
GUNICORN_PID=$!

healthy() {
  "$PY" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' \
    "http://127.0.0.1:$PORT/healthz" 2>/dev/null
}
for ((i = 0; ; i++)); do
  healthy && break
  kill -0 "$GUNICORN_PID" 2>/dev/null || { GUNICORN_PID=''; echo "gunicorn exited" >&2; exit 1; }
  ((i < 120)) || { echo "no answer from http://127.0.0.1:$PORT/healthz after 60 s" >&2; exit 1; }
  sleep 0.5
done

echo "Mimir Execution Dashboard: http://127.0.0.1:$PORT/   (Ctrl-C stops everything)"
# On an empty user table: a first admin, its password printed this once (nothing otherwise).
"$PY" manage.py create_first_admin --url "http://127.0.0.1:$PORT/"

# The alert worker beside gunicorn (a second host runs its own: deliveries are claimed atomically);
# its alerts link to this server unless ALERT_DASHBOARD_URL says otherwise.
log=$VAR/deliver-alerts.log
PROMETHEUS_MULTIPROC_DIR=$METRICS_DIR ALERT_DASHBOARD_URL=${ALERT_DASHBOARD_URL:-http://127.0.0.1:$PORT} "$PY" manage.py deliver_alerts >"$log" 2>&1 &
ALERTS_PID=$!
echo "alert worker started (log: $log)"

if [[ ${DEMO:-1} != 0 ]]; then
  "$PY" manage.py simulate --url "http://127.0.0.1:$PORT" &
  SIM_PID=$!
fi
# Until Ctrl-C, or until gunicorn, the proxy or the alert worker exits (then everything else is
# stopped too).
wait -n "$GUNICORN_PID" "$PROXY_PID" "$ALERTS_PID" && rc=0 || rc=$?
for name in GUNICORN PROXY ALERTS; do
  pid_var=${name}_PID
  if ! kill -0 "${!pid_var}" 2>/dev/null; then
    printf -v "$pid_var" ''
    echo "${name,,} exited with code $rc" >&2
  fi
done
exit "$rc"
