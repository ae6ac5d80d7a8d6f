"""How the app talks to Neo4j: reads in sessions of read access (so that a `neo4j://` URL routes
them to a cluster's followers), reads inside a write transaction seeing its writes, and the whole
app unchanged on a `neo4j://` URL against the single embedded server."""

from __future__ import annotations

import threading
import time

import neo4j.exceptions
import pytest
import requests
from neomodel import db

from executions import graph
from tests.support.graph import cypher
from tests.support.pages import T0, result
from tests.support.servers import create_user, gunicorn, manage, production_env, sign_in


def test_it_reads_with_read_access_in_which_neo4j_refuses_a_write():
    # A named write statement run as a read: Neo4j itself refuses it, which only read access does.
    with pytest.raises(neo4j.exceptions.ClientError) as refused:
        graph.read("ingest/upsert_plan", {"planId": "p", "now": T0, "contentHash": "h", "props": {}, "taskModels": []})
    assert "AccessMode" in refused.value.code
    assert cypher("MATCH (p:Plan) RETURN count(p)") == [[0]]


def test_it_reads_inside_a_write_transaction_what_that_transaction_wrote():
    def write_then_read():
        graph.run("ingest/upsert_plan", {"planId": "p", "now": T0, "contentHash": "h", "props": {"title": "T"},
                                          "taskModels": []})
        return graph.read("pages/plan_options")

    options = graph.write_transaction(write_then_read)
    assert "p" in repr(options)
    assert db._active_transaction is None


def _pinged_from_thread(barrier: threading.Barrier | None = None):
    def read():
        if barrier is not None:
            barrier.wait(timeout=10)  # breaks unless all parties run at the same time
        graph.read("pages/ping")
        return threading.current_thread().name
    return read


def test_it_runs_independent_reads_at_the_same_time_and_answers_in_order(settings):
    settings.NEO4J_READ_CONCURRENCY = 3
    barrier = threading.Barrier(3)
    names = graph.concurrently(*(_pinged_from_thread(barrier) for _ in range(3)))
    assert names[0] == threading.current_thread().name
    assert len(set(names)) == 3
    assert graph.concurrently(lambda: 1, lambda: 2, lambda: 3, lambda: 4, lambda: 5) == [1, 2, 3, 4, 5]


def test_it_runs_reads_one_after_the_other_with_a_concurrency_of_one_or_inside_a_pool_job(settings):
    settings.NEO4J_READ_CONCURRENCY = 1
    here = threading.current_thread().name
    assert graph.concurrently(*(_pinged_from_thread() for _ in range(3))) == [here] * 3
    settings.NEO4J_READ_CONCURRENCY = 2

    def nested():
        return threading.current_thread().name, graph.concurrently(_pinged_from_thread(), _pinged_from_thread())

    _, (job, inner) = graph.concurrently(lambda: None, nested)
    assert job != here and inner == [job, job]


def test_it_reads_inside_a_write_transaction_in_its_thread_seeing_its_writes(settings):
    settings.NEO4J_READ_CONCURRENCY = 4

    def write_then_read():
        graph.run("ingest/upsert_plan", {"planId": "p", "now": T0, "contentHash": "h", "props": {"title": "T"},
                                          "taskModels": []})
        return graph.concurrently(lambda: graph.read("pages/plan_options"), _pinged_from_thread())

    options, name = graph.write_transaction(write_then_read)
    assert "p" in repr(options) and name == threading.current_thread().name


def test_it_raises_the_first_error_of_concurrent_reads_after_all_of_them_ended(settings):
    settings.NEO4J_READ_CONCURRENCY = 3
    ended = []

    def fails():
        raise ValueError("first")

    def slow():
        time.sleep(0.3)
        ended.append("slow")
        raise KeyError("second")

    with pytest.raises(ValueError, match="first"):
        graph.concurrently(fails, slow, _pinged_from_thread())
    assert ended == ["slow"]


@pytest.mark.slow  # manage.py and gunicorn processes
def test_it_runs_unchanged_on_a_neo4j_scheme_url_against_the_single_server(neo4j_url, tmp_path):
    # neo4j:// makes the driver route: it asks the server for its routing table, and sends reads
    # to readers and writes to the writer. A single server is all three.
    routed = neo4j_url.replace("bolt://", "neo4j://", 1)
    assert routed.startswith("neo4j://")
    env = production_env(routed, database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    manage(env, "migrate", "--noinput")
    manage(env, "collectstatic", "--noinput")
    token = manage(env, "create_ingest_token", "orchestrator", "--scope", "read,write").strip()
    auth = {"Authorization": f"Bearer {token}"}
    create_user(env, "viewer", "a long enough password for the viewer")
    with gunicorn(env, tmp_path / "gunicorn.log", workers=2) as base:
        def post(path: str, body: dict) -> requests.Response:
            return requests.post(f"{base}/api/v1/{path}", headers=auth, json=body, timeout=30)

        assert post("executions", {"executionId": "r-1", "planId": "plan-r", "totalTasks": 2,
                                   "startTime": T0}).status_code == 201
        assert post("executions/r-1/tasks", {"taskId": "t0", "result": result("failure")}).status_code == 201
        batch = post("events", {"events": [{"type": "task_result", "executionId": "r-1", "taskId": "t1",
                                            "result": result()}]})
        assert batch.status_code == 200, batch.text
        assert post("executions/r-1/finish", {"endTime": T0 + 60_000}).status_code == 201
        read = requests.get(f"{base}/api/v1/executions/r-1", headers=auth, timeout=30)
        assert read.status_code == 200, read.text
        body = read.json()
        assert (body["status"], body["tasksFailed"], body["tasksSuccessful"]) == ("failed", 1, 1)
        listed = requests.get(f"{base}/api/v1/executions", headers=auth, timeout=30)
        assert [e["executionId"] for e in listed.json()["executions"]] == ["r-1"]
        assert requests.get(f"{base}/healthz", timeout=30).status_code == 200
        # The dashboard's pages and the live poll read through the routed URL too.
        browser = sign_in(base, "viewer", "a long enough password for the viewer")
        listing = browser.get(f"{base}/", timeout=30)
        assert listing.status_code == 200 and "r-1" in listing.text
        page = browser.get(f"{base}/executions/r-1", timeout=30)
        assert page.status_code == 200 and "t0" in page.text and "t1" in page.text
        poll = browser.get(f"{base}/executions/r-1/poll", timeout=30)  # no version yet: everything
        assert poll.status_code == 200 and "t0" in poll.text
        assert browser.get(f"{base}/reports/failures", timeout=30).status_code == 200
    log = (tmp_path / "gunicorn.log").read_text()
    assert "Traceback" not in log, log
