"""gunicorn settings shared by every way the app is served (scripts/run.sh, the benchmarks):

    gunicorn -c python:mimir_dashboard.gunicorn_conf mimir_dashboard.wsgi:application -b ... -w ... --threads ...

Always behind a buffering proxy (scripts/proxy_server.py: nginx; README, "Deploying"): a gthread
worker reads each request on one of its threads, so a slow client would hold that thread.
"""

worker_class = "gthread"
accesslog = "-"
logger_class = "mimir_dashboard.gunicorn_logging.AccessLogger"
# gunicorn 27's control socket defaults to one path per user (~/.gunicorn/gunicorn.ctl), shared with
# every other gunicorn of that user (tests, benchmarks, a second checkout).
control_socket_disable = True
