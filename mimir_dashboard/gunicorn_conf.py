"""gunicorn settings shared by every way the app is served (scripts/run.sh, the benchmarks):

    gunicorn -c python:mimir_dashboard.gunicorn_conf mimir_dashboard.wsgi:application -b ... -w ... --threads ...

Always behind a buffering proxy (scripts/proxy_server.py: nginx; README, "Deploying"): a gthread
worker reads each request on one of its threads, so a slow client would hold that thread.
"""

import os
import shutil
import tempfile

worker_class = "gthread"
accesslog = "-"
logger_class = "mimir_dashboard.gunicorn_logging.AccessLogger"
# gunicorn 27's control socket defaults to one path per user (~/.gunicorn/gunicorn.ctl), shared with
# every other gunicorn of that user (tests, benchmarks, a second checkout).
control_socket_disable = True


# Prometheus multi-process mode (executions/metrics.py): every worker writes its metrics into files
# in PROMETHEUS_MULTIPROC_DIR, and a scrape adds them up. scripts/run.sh names a folder under var/;
# any other gunicorn (tests, benchmarks) gets a temporary one, removed when gunicorn exits, so that
# /metrics under gunicorn always counts every worker. Set here, in the master, before any worker
# forks and imports prometheus_client (which picks its mode at import).
_own_metrics_dir = None
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    _own_metrics_dir = tempfile.mkdtemp(prefix="mimir-prometheus-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _own_metrics_dir


def child_exit(server, worker):
    # A dead worker's files stay (its counts happened); this drops what only a live process means.
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _own_metrics_dir:
        shutil.rmtree(_own_metrics_dir, ignore_errors=True)
