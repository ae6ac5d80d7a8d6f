"""/metrics under gunicorn with two workers (Prometheus multi-process mode: mimir_dashboard/
gunicorn_conf.py, executions/metrics.py): a scrape answered by either worker counts both."""

from __future__ import annotations

import os
import re
import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from tests.support.pages import T0, result
from tests.support.servers import gunicorn, manage, production_env
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow  # gunicorn and manage.py processes

MAX_ROUNDS = 20  # rounds of 16 concurrent posts until each worker has answered some


def _scrape(url: str) -> dict[tuple[str, frozenset], float]:
    response = requests.get(url + "/metrics", timeout=30)
    assert response.status_code == 200, response.text
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(response.text) for s in family.samples}


def _starts_by_worker(metrics_dir: Path) -> dict[int, float]:
    """Each worker's own count of answered starts, read from its files alone."""
    counts = {}
    for path in metrics_dir.glob("counter_*.db"):
        pid = int(re.fullmatch(r"counter_(\d+)\.db", path.name).group(1))
        one = metrics_dir / f"only-{pid}"
        one.mkdir(exist_ok=True)
        (one / path.name).write_bytes(path.read_bytes())
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(one))
        counts[pid] = sum(s.value for family in registry.collect() for s in family.samples
                          if s.name == "mimir_ingest_requests_total"
                          and s.labels == {"endpoint": "execution_start", "status": "201"})
    return counts


def test_it_sums_every_workers_counts_in_one_scrape(neo4j_url, tmp_path):
    metrics_dir = tmp_path / "prometheus"
    metrics_dir.mkdir()
    env = production_env(neo4j_url, database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    env.update(PROMETHEUS_MULTIPROC_DIR=str(metrics_dir), METRICS_ALLOWED_IPS="127.0.0.1")
    manage(env, "migrate", "--noinput")
    token = manage(env, "create_ingest_token", "orchestrator").strip()
    auth = {"Authorization": f"Bearer {token}"}

    with gunicorn(env, tmp_path / "gunicorn.log", workers=2, threads=2) as url:
        posted = {"n": 0}

        def post(i: int) -> int:
            eid = f"w-{i}"
            start = requests.post(f"{url}/api/v1/executions", headers=auth, timeout=30,
                                  json={"executionId": eid, "planId": "p", "totalTasks": 1, "startTime": T0})
            task = requests.post(f"{url}/api/v1/executions/{eid}/tasks", headers=auth, timeout=30,
                                 json={"taskId": "t0", "result": result()})
            return start.status_code * 1000 + task.status_code

        with ThreadPoolExecutor(16) as pool:
            for _ in range(MAX_ROUNDS):
                answers = list(pool.map(post, range(posted["n"], posted["n"] + 16)))
                assert set(answers) == {201201}, answers
                posted["n"] += 16
                by_worker = _starts_by_worker(metrics_dir)
                if len([c for c in by_worker.values() if c > 0]) >= 2:
                    break
        assert len([c for c in by_worker.values() if c > 0]) >= 2, by_worker
        assert sum(by_worker.values()) == posted["n"]

        samples = _scrape(url)
        starts = ("mimir_ingest_requests_total", frozenset({("endpoint", "execution_start"), ("status", "201")}))
        results = ("mimir_ingest_requests_total", frozenset({("endpoint", "task_result"), ("status", "201")}))
        assert samples[starts] == posted["n"]
        assert samples[results] == posted["n"]
        # Every task result went through some worker's group commit: the statements' sizes add up.
        assert samples[("mimir_group_commit_group_size_sum", frozenset())] == posted["n"]
        # Read once, by the worker answering, not once per worker.
        assert samples[("mimir_executions", frozenset({("status", "running")}))] == posted["n"]
        # Each scrape answers the same sums, whichever worker answers it.
        assert all(_scrape(url)[starts] == posted["n"] for _ in range(4))

        # A worker that exits (gunicorn starts another): what it counted is still in the sum.
        victim = max(by_worker, key=by_worker.get)
        os.kill(victim, signal.SIGTERM)
        wait_until(lambda: len(list(metrics_dir.glob("counter_*.db"))) >= 3, timeout=60,
                   what=lambda: str(list(metrics_dir.iterdir())))
        wait_until(lambda: requests.get(url + "/healthz", timeout=10).status_code == 200, timeout=30)
        assert _scrape(url)[starts] == posted["n"]
        assert post(posted["n"]) == 201201
        assert _scrape(url)[starts] == posted["n"] + 1

    # The worker refuses a scrape from an address outside METRICS_ALLOWED_IPS (here: all of them).
    env["METRICS_ALLOWED_IPS"] = "10.0.0.0/8"
    with gunicorn(env, tmp_path / "gunicorn-2.log", workers=1) as url:
        assert requests.get(url + "/metrics", timeout=30).status_code == 401
        assert requests.get(url + "/metrics", headers=auth, timeout=30).status_code == 403  # write-only token
