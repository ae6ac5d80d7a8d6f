"""GET /metrics (executions/metrics.py): Prometheus' text format, read back with prometheus-client's
own parser, moving with real traffic through the ingest API; and who may scrape it."""

from __future__ import annotations

import io
import ipaddress

import pytest
from django.core.management import call_command
from django.db import OperationalError
from django.test import override_settings
from prometheus_client.parser import text_string_to_metric_families

from executions import metrics, services
from tests.support.pages import T0, result, run


def scrape(client, token: str | None = None, **headers) -> dict[tuple[str, frozenset], float]:
    """Every sample of a scrape, by name and labels."""
    if token is not None:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    response = client.get("/metrics", **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(response.content.decode())
            for sample in family.samples}


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture(autouse=True)
def fresh_execution_counts():
    # Each test starts from an empty graph: counts cached by an earlier test would be another graph's.
    metrics.EXECUTIONS_BY_STATUS.forget()
    yield
    metrics.EXECUTIONS_BY_STATUS.forget()


@pytest.fixture
def reader(db) -> str:
    return services.ingest_token_create(name="prometheus", scopes=("read",))


def test_it_counts_ingest_requests_by_route_and_status_exactly(client, ingest, reader):
    before = scrape(client, reader)
    assert ingest.start("m-1", "plan-a", 2, T0).status_code == 201
    assert ingest.task("m-1", "t0", result()).status_code == 201
    assert ingest.task("m-1", "t0", result()).status_code == 200  # a replay
    assert ingest.task("m-1", "t1", {"status": "nope"}).status_code == 400
    middle = scrape(client, reader)

    def delta(after, then, name, **labels):
        return value(after, name, **labels) - value(then, name, **labels)

    total = "mimir_ingest_requests_total"
    assert delta(middle, before, total, endpoint="execution_start", status="201") == 1
    assert delta(middle, before, total, endpoint="task_result", status="201") == 1
    assert delta(middle, before, total, endpoint="task_result", status="200") == 1
    assert delta(middle, before, total, endpoint="task_result", status="400") == 1
    seconds = "mimir_ingest_request_duration_seconds"
    assert delta(middle, before, f"{seconds}_count", endpoint="task_result") == 3
    assert delta(middle, before, f"{seconds}_sum", endpoint="task_result") > 0
    assert delta(middle, before, f"{seconds}_bucket", endpoint="task_result", le="+Inf") == 3

    # Again: the counters move by exactly this traffic, and a GET is counted under its own name.
    assert ingest.finish("m-1", T0 + 60_000).status_code == 201
    assert ingest.get("m-1").status_code == 200
    after = scrape(client, reader)
    assert delta(after, middle, total, endpoint="execution_finish", status="201") == 1
    assert delta(after, middle, total, endpoint="execution_get", status="200") == 1
    assert delta(after, middle, total, endpoint="task_result", status="201") == 0
    assert delta(after, middle, f"{seconds}_count", endpoint="task_result") == 0


def test_it_labels_by_route_never_by_path(client, ingest, reader):
    before = scrape(client, reader)
    for i in range(3):
        assert ingest.start(f"path-{i}", "plan-a", 1, T0).status_code == 201
        assert ingest.get(f"path-{i}").status_code == 200
    auth = {"HTTP_AUTHORIZATION": f"Bearer {ingest.token}"}
    assert client.get("/api/v1/no-such-route", **auth).status_code == 404
    assert client.delete("/api/v1/executions", **auth).status_code == 405
    after = scrape(client, reader)
    endpoints = {dict(labels).get("endpoint") for (name, labels) in after if name == "mimir_ingest_requests_total"}
    assert not [e for e in endpoints if "path-" in e or "/" in e], endpoints
    total = "mimir_ingest_requests_total"
    assert value(after, total, endpoint="execution_get", status="200") - value(
        before, total, endpoint="execution_get", status="200") == 3
    assert value(after, total, endpoint="unmatched", status="404") - value(
        before, total, endpoint="unmatched", status="404") == 1
    assert value(after, total, endpoint="method_not_allowed", status="405") - value(
        before, total, endpoint="method_not_allowed", status="405") == 1


def test_it_records_each_group_commit_statement_size(client, ingest, reader):
    assert ingest.start("g-1", "plan-a", 3, T0).status_code == 201
    before = scrape(client, reader)
    for i in range(3):
        assert ingest.task("g-1", f"t{i}", result()).status_code == 201
    # A batch is one statement of its own, not a group commit's.
    assert ingest.events([{"type": "task_result", "executionId": "g-1", "taskId": "t9", "result": result()}]
                         ).status_code == 200
    after = scrape(client, reader)
    size = "mimir_group_commit_group_size"
    # One at a time, so each statement carried one result.
    assert value(after, f"{size}_count") - value(before, f"{size}_count") == 3
    assert value(after, f"{size}_sum") - value(before, f"{size}_sum") == 3
    assert value(after, f"{size}_bucket", le="1.0") - value(before, f"{size}_bucket", le="1.0") == 3


def test_it_exports_executions_by_status_from_the_graph(client, ingest, reader):
    empty = scrape(client, reader)
    assert {status: value(empty, "mimir_executions", status=status)
            for status in ("running", "completed", "incomplete", "failed", "cancelled")} == dict.fromkeys(
        ("running", "completed", "incomplete", "failed", "cancelled"), 0)
    run(ingest, "ok-1")
    run(ingest, "ok-2")
    run(ingest, "bad-1", failed=(1,))
    run(ingest, "live-1", finish=False)
    assert ingest.start("short-1", "plan-a", 5, T0).status_code == 201
    assert ingest.finish("short-1", T0 + 1000).status_code == 201
    metrics.EXECUTIONS_BY_STATUS.forget()
    counts = scrape(client, reader)
    assert {status: value(counts, "mimir_executions", status=status)
            for status in ("running", "completed", "incomplete", "failed", "cancelled")} == {
        "running": 1, "completed": 2, "incomplete": 1, "failed": 1, "cancelled": 0}


def test_it_reads_executions_by_status_at_most_once_per_cache_period(client, ingest, reader, cypher_calls,
                                                                    frozen_clock):
    scrape(client, reader)
    reads = [q for q in cypher_calls if "count(*) AS executions" in q]
    assert len(reads) == 1
    run(ingest, "cached-1")
    # Within the period: the cached counts, no query.
    assert value(scrape(client, reader), "mimir_executions", status="completed") == 0
    assert len([q for q in cypher_calls if "count(*) AS executions" in q]) == 1
    frozen_clock.advance(seconds=metrics.EXECUTIONS_CACHE_SECONDS - 0.001)
    assert value(scrape(client, reader), "mimir_executions", status="completed") == 0
    assert len([q for q in cypher_calls if "count(*) AS executions" in q]) == 1
    frozen_clock.advance(ms=1)
    assert value(scrape(client, reader), "mimir_executions", status="completed") == 1
    assert len([q for q in cypher_calls if "count(*) AS executions" in q]) == 2


def test_it_counts_executions_from_the_status_index_alone(neo4j_url):
    from neomodel import db

    from executions.cypher import statement

    db.cypher_query("RETURN 1")  # connects, if nothing did yet
    with db.driver.session() as session:
        plan = session.run("EXPLAIN " + statement("metrics/executions_by_status")).consume().plan

    def operators(node):
        yield node["operatorType"]
        for child in node.get("children", []):
            yield from operators(child)

    names = [name.split("@")[0] for name in operators(plan)]
    assert any("NodeIndexScan" in name for name in names), names
    assert not any(name in ("NodeByLabelScan", "AllNodesScan") for name in names), names


def test_it_counts_alert_deliveries_by_outcome_and_refuses_an_unknown_one(client, reader):
    before = scrape(client, reader)
    metrics.record_alert_delivery(outcome="success")
    metrics.record_alert_delivery(outcome="success")
    metrics.record_alert_delivery(outcome="retry")
    with pytest.raises(ValueError, match="outcome"):
        metrics.record_alert_delivery(outcome="maybe")
    after = scrape(client, reader)
    deliveries = "mimir_alert_deliveries_total"
    assert value(after, deliveries, outcome="success") - value(before, deliveries, outcome="success") == 2
    assert value(after, deliveries, outcome="retry") - value(before, deliveries, outcome="retry") == 1
    assert (deliveries, frozenset({("outcome", "maybe")})) not in after


def test_it_exports_the_worker_s_deliveries_and_the_queue_depth_as_they_happen(client, ingest, reader, frozen_clock):
    from tests.support.alerts import work
    from tests.support.receiver import receiver

    deliveries, depth = "mimir_alert_deliveries_total", "mimir_alert_queue_depth"
    with receiver() as hook:
        hook.answer(500)  # then 200
        call_command("add_webhook", "ops", hook.url, "--on", "execution_failed", stdout=io.StringIO())
        before = scrape(client, reader)
        assert value(before, depth) == 0
        run(ingest, "alert-1", failed=(0,))
        work()  # detects the failure, and its first attempt answers 500
        retried = scrape(client, reader)
        assert value(retried, deliveries, outcome="retry") - value(before, deliveries, outcome="retry") == 1
        assert value(retried, depth) == 1
        frozen_clock.advance(seconds=3600)
        work()
        delivered = scrape(client, reader)
        assert value(delivered, deliveries, outcome="success") - value(before, deliveries, outcome="success") == 1
        assert value(delivered, deliveries, outcome="retry") - value(before, deliveries, outcome="retry") == 1
        assert value(delivered, depth) == 0
        assert len(hook.requests) == 2


def test_it_leaves_the_queue_depth_out_while_its_source_cannot_be_read(client, reader, monkeypatch):
    def unreadable():
        raise OperationalError("no such table: alerts_delivery")

    monkeypatch.setattr(metrics, "_alert_queue_depth", unreadable)
    samples = scrape(client, reader)
    assert not [name for name, _ in samples if name == "mimir_alert_queue_depth"]
    assert [name for name, _ in samples if name == "mimir_alert_deliveries_total"]  # the rest still answers
    monkeypatch.setattr(metrics, "_alert_queue_depth", None)
    assert not [name for name, _ in scrape(client, reader) if name == "mimir_alert_queue_depth"]


def test_it_refuses_a_scrape_without_a_token_or_with_a_wrong_one(client, db):
    for headers in ({}, {"HTTP_AUTHORIZATION": "Bearer not-a-token"}, {"HTTP_AUTHORIZATION": "Basic abc"}):
        response = client.get("/metrics", **headers)
        assert response.status_code == 401, headers
        assert response["WWW-Authenticate"] == "Bearer"
        assert response.json()["error"] == "unauthorized"
        assert "METRICS_ALLOWED_IPS" in response.json()["detail"]
        assert b"mimir_" not in response.content


def test_it_refuses_a_token_without_the_read_scope_or_with_limits(client, db):
    writer = services.ingest_token_create(name="writer", scopes=("write",))
    limited = services.ingest_token_create(name="limited", scopes=("read",), plans=["plan-a"])
    for token, says in ((writer, "read scope"), (limited, "spans every plan")):
        response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")
        assert response.status_code == 403
        assert says in response.json()["detail"]
    revoked = services.ingest_token_create(name="revoked", scopes=("read",))
    services.ingest_token_revoke(name="revoked")
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {revoked}").status_code == 401


def test_it_lets_an_allowed_address_scrape_without_a_token(client, db):
    allowed = (ipaddress.ip_network("10.1.0.0/16"), ipaddress.ip_network("::1/128"))
    with override_settings(METRICS_ALLOWED_IPS=allowed, TRUSTED_PROXY_COUNT=0):
        assert "mimir_ingest_requests" in client.get("/metrics", REMOTE_ADDR="10.1.2.3").content.decode()
        assert client.get("/metrics", REMOTE_ADDR="::1").status_code == 200
        assert client.get("/metrics", REMOTE_ADDR="10.2.0.1").status_code == 401
        # Without trusted proxies, X-Forwarded-For is the client's own word: not believed.
        assert client.get("/metrics", REMOTE_ADDR="192.0.2.9", HTTP_X_FORWARDED_FOR="10.1.2.3").status_code == 401
    with override_settings(METRICS_ALLOWED_IPS=allowed, TRUSTED_PROXY_COUNT=1):
        # Behind one proxy the client is the address that proxy appended, whatever came before it.
        assert client.get("/metrics", REMOTE_ADDR="192.0.2.1",
                          HTTP_X_FORWARDED_FOR="203.0.113.5, 10.1.9.9").status_code == 200
        assert client.get("/metrics", REMOTE_ADDR="10.1.0.1",
                          HTTP_X_FORWARDED_FOR="10.1.2.3, 203.0.113.5").status_code == 401


def test_it_answers_only_get(client, reader):
    response = client.post("/metrics", HTTP_AUTHORIZATION=f"Bearer {reader}")
    assert response.status_code == 405 and response["Allow"] == "GET, HEAD"


@pytest.mark.slow  # a second Neo4j, stopped and started again
def test_it_counts_neo4j_errors_and_503s_and_leaves_out_counts_it_cannot_read(client, ingest, reader, own_neo4j):
    stop_neo4j, restart_neo4j = own_neo4j
    assert ingest.start("down-1", "plan-a", 2, T0).status_code == 201
    before = scrape(client, reader)
    assert value(before, "mimir_executions", status="running") == 1
    stop_neo4j()
    metrics.EXECUTIONS_BY_STATUS.forget()
    assert ingest.task("down-1", "t0", result()).status_code == 503
    assert ingest.get("down-1").status_code == 503
    down = scrape(client, reader)  # the scrape itself still answers
    assert value(down, "mimir_ingest_unavailable_total", reason="unreachable") - value(
        before, "mimir_ingest_unavailable_total", reason="unreachable") == 2
    for endpoint in ("task_result", "execution_get"):
        assert value(down, "mimir_ingest_requests_total", endpoint=endpoint, status="503") - value(
            before, "mimir_ingest_requests_total", endpoint=endpoint, status="503") == 1
    # Each failed call met an unreachable Neo4j once (not retried); the scrape's own read failed
    # after the counters were written out, so the next scrape shows it.
    unreachable = "mimir_neo4j_errors_total"
    assert value(down, unreachable, kind="unreachable") - value(before, unreachable, kind="unreachable") == 2
    assert not [name for name, _ in down if name == "mimir_executions"]  # no made-up counts
    metrics.EXECUTIONS_BY_STATUS.forget()
    assert value(scrape(client, reader), unreachable, kind="unreachable") - value(
        before, unreachable, kind="unreachable") == 3
    restart_neo4j()
    metrics.EXECUTIONS_BY_STATUS.forget()
    assert value(scrape(client, reader), "mimir_executions", status="running") == 1
