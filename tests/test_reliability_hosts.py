"""Two app hosts, one Neo4j: two gunicorn processes on different ports share a Neo4j of the test's
own and one Django database. Each client posts to its own host and its replays to the other one,
and Neo4j is stopped and restarted in the middle; afterwards every execution's counters and
FAILED_TASK links must equal what the clients' logs say (group commit is per process, so only
Neo4j's locks and constraints keep the two hosts from counting anything twice). The workload and
the checks are bench/load_faults.py's (scripts/orchestrator_load.py), smaller."""

import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from neo4j import GraphDatabase

from scripts.neo4j_server import start, stop
from scripts.orchestrator_load import (
    VERIFY_QUERY,
    compare,
    cross_host_replays,
    expected_from_logs,
    make_scripts,
    run_clients,
)
from tests.support.servers import REPO, free_port, gunicorn, manage, production_env
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow  # a Neo4j of its own, stopped and started again, and two gunicorns

PREFIX = "hosts"


@pytest.fixture
def neo4j_of_its_own():
    port = free_port()
    home = REPO / "var" / f"neo4j-test-hosts-{port}"
    shutil.rmtree(home, ignore_errors=True)
    state = {"server": start(home=home, port=port, heap="512m")}
    try:
        yield state, lambda: start(home=home, port=port, heap="512m")
    finally:
        stop(state["server"])
        shutil.rmtree(home, ignore_errors=True)


def test_it_counts_nothing_twice_with_replays_across_two_hosts_through_a_neo4j_restart(neo4j_of_its_own, tmp_path):
    state, restart = neo4j_of_its_own
    bolt_url = state["server"].bolt_url
    env = production_env(bolt_url, database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}")  # shared by both hosts
    manage(env, "migrate", "--noinput")
    manage(env, "install_schema")
    manage(env, "collectstatic", "--noinput")
    token = manage(env, "create_ingest_token", "two-hosts").strip()
    scripts = make_scripts(PREFIX, executions=8, tasks=12, clients=8, seed=5, replay_rate=0.2)
    total = sum(len(s) for s in scripts)
    acknowledged = {"n": 0}
    lock = threading.Lock()

    def on_done(entry):
        with lock:
            acknowledged["n"] += 1

    with gunicorn(env, tmp_path / "host1.log", workers=1, threads=4) as host1, \
            gunicorn(env, tmp_path / "host2.log", workers=1, threads=4) as host2:
        with ThreadPoolExecutor(max_workers=1) as runner:
            future = runner.submit(run_clients, [host1, host2], token, scripts, max_seconds=600,
                                   max_retry_after=1, give_up_after=300, on_done=on_done)
            wait_until(lambda: acknowledged["n"] >= 0.4 * total or future.done(), timeout=300)
            assert not future.done(), "the load finished before Neo4j could be stopped"
            stop(state["server"])
            time.sleep(2)
            state["server"] = restart()
            clients = future.result()
        host_logs = [(tmp_path / name).read_text() for name in ("host1.log", "host2.log")]

    statuses = {s for c in clients for e in c.log for s in e.statuses}
    assert statuses <= {0, 200, 201, 503}, statuses  # 503 (or a refused connection) only while Neo4j was down
    assert 503 in statuses or 0 in statuses  # the outage was seen
    expected, problems = expected_from_logs(clients)
    assert problems == []  # every event acknowledged; replays answered replayed=true
    assert sum(len(c.log) for c in clients) == total
    # Both hosts served, and every replay went to the other host than its original.
    replays = sum(e.event.replay for c in clients for e in c.log)
    assert replays > 0 and cross_host_replays(clients) == replays
    assert {e.host for c in clients for e in c.log} == {0, 1}
    assert all("POST /api/v1/" in log for log in host_logs)
    driver = GraphDatabase.driver(f"bolt://{bolt_url.rsplit('@', 1)[1]}", auth=None)
    try:
        with driver.session() as session:
            rows = session.run(VERIFY_QUERY, prefix=PREFIX + "-").data()
    finally:
        driver.close()
    assert len(rows) == 8
    assert compare(rows, expected) == []
    assert any(exp["tasksFailed"] > 0 for exp in expected.values())  # not vacuous: failures were counted
    assert not any("Traceback" in log for log in host_logs)
