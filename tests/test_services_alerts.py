"""Alerts end to end in one process: facts posted through the real ingest API into the real Neo4j,
the `deliver_alerts` worker (`--once`) detecting and delivering them, over real HTTP to a receiver
on loopback. Time is the frozen clock: retries are due by moving it, never by sleeping."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from alerts import services
from alerts.models import AlertChannel, AlertEvent, Delivery, DeliveryAttempt
from alerts.signing import signature
from executions import clock
from executions.errors import InvalidInput, NotFound
from tests.support.alerts import documented_verify, work
from tests.support.pages import result
from tests.support.receiver import receiver


@pytest.fixture
def hook():
    with receiver() as r:
        yield r


def add_webhook(name: str, url: str, *args: str) -> str:
    out = io.StringIO()
    call_command("add_webhook", name, url, *args, stdout=out)
    return out.getvalue().strip()


def work_rounds(rounds: int, frozen_clock, settings) -> None:
    """The worker again and again, each time after the longest backoff: every retry comes due."""
    for _ in range(rounds):
        work()
        frozen_clock.advance(seconds=settings.ALERT_RETRY_MAX_SECONDS)


def failing_run(ingest, eid: str, *, plan: str = "plan-a", finish: bool = True, qc_score: int = 20) -> None:
    assert ingest.start(eid, plan, 2, 1_764_000_000_000).status_code == 201
    failed = result("failure", error="boom", qcVerification={"passed": False, "score": qc_score, "feedback": "bad",
                                                             "issues": ["x"], "requiredFixes": ["y"]})
    assert ingest.task(eid, "t0", failed).status_code == 201
    assert ingest.task(eid, "t1", result()).status_code == 201
    if finish:
        assert ingest.finish(eid, 1_764_000_600_000).status_code == 201


def bodies(hook, path: str | None = None) -> list[dict]:
    return [json.loads(r.body) for r in hook.requests if path is None or r.path.endswith(path)]


def test_it_sends_one_signed_webhook_per_matching_rule_for_a_failing_execution(ingest, hook, frozen_clock):
    ops = add_webhook("ops", f"{hook.url}/ops", "--on", "execution_failed,execution_cancelled")
    team = add_webhook("team", f"{hook.url}/team", "--on", "execution_failed,rework_tokens_above",
                       "--rework-tokens-above", "100")
    add_webhook("other-plan", f"{hook.url}/other", "--on", "execution_failed", "--plan", "plan-b")

    failing_run(ingest, "exec-1")
    work()

    assert sorted(r.path for r in hook.requests) == ["/hook/ops", "/hook/team", "/hook/team"]
    assert [b["kind"] for b in bodies(hook, "/ops")] == ["execution_failed"]
    assert sorted(b["kind"] for b in bodies(hook, "/team")) == ["execution_failed", "rework_tokens_above"]
    verify = documented_verify()
    for r in hook.requests:
        secret = ops if r.path.endswith("/ops") else team
        assert verify(secret, r.headers, r.body)
        assert not verify(secret, r.headers, r.body.replace(b"exec-1", b"exec-2"))  # tampered
        assert not verify("whsec_wrong", r.headers, r.body)
        body = json.loads(r.body)
        assert r.headers["X-Mimir-Event-Id"] == body["eventId"]
        assert body["schemaVersion"] == 1
        assert body["execution"]["executionId"] == "exec-1" and body["execution"]["status"] == "failed"
        assert body["url"] == "http://127.0.0.1:8000/executions/exec-1"
    assert len(set(hook.event_ids())) == 3
    assert body["rule"]["planId"] is None
    rework = next(b for b in bodies(hook) if b["kind"] == "rework_tokens_above")
    assert rework["execution"]["reworkTokens"] == 1250 and rework["rule"]["threshold"] == 100
    assert set(Delivery.objects.values_list("state", flat=True)) == {"delivered"}

    work()  # nothing new: nothing sent again
    assert len(hook.requests) == 3


def test_it_refuses_a_replay_outside_the_documented_window(ingest, hook, frozen_clock):
    secret = add_webhook("ops", hook.url, "--on", "execution_failed")
    failing_run(ingest, "exec-1")
    frozen_clock.set(frozen_clock.now_ms() - 600_000)
    work()
    (r,) = hook.requests
    # Signed ten minutes ago by the app's clock: the recipe's five-minute window refuses it.
    assert not documented_verify()(secret, r.headers, r.body)


def test_it_delivers_each_event_once_however_often_the_fact_is_replayed_and_the_worker_restarts(
        ingest, hook, frozen_clock):
    add_webhook("ops", hook.url, "--on", "execution_failed,qc_score_below", "--qc-score-below", "50")
    failing_run(ingest, "exec-1", finish=False)
    failed = result("failure", error="boom", qcVerification={"passed": False, "score": 20, "feedback": "bad",
                                                             "issues": ["x"], "requiredFixes": ["y"]})
    for _ in range(5):
        assert ingest.task("exec-1", "t0", failed).json()["replayed"] is True
    work()  # the worker's first life: the QC alert
    assert [b["kind"] for b in bodies(hook)] == ["qc_score_below"]
    for _ in range(5):
        assert ingest.task("exec-1", "t0", failed).json()["replayed"] is True
    assert ingest.finish("exec-1", 1_764_000_600_000).status_code == 201
    for _ in range(3):
        assert ingest.finish("exec-1", 1_764_000_600_000).status_code == 200
    frozen_clock.advance(seconds=5)
    work()  # restarted: the failure, once
    work()
    frozen_clock.advance(seconds=120)  # past the overlap too
    work()
    assert sorted(b["kind"] for b in bodies(hook)) == ["execution_failed", "qc_score_below"]
    assert len(set(hook.event_ids())) == 2
    assert AlertEvent.objects.count() == 2 and Delivery.objects.filter(state="delivered").count() == 2


def test_it_retries_a_delivery_whose_worker_died_mid_send_once_its_lease_ran_out(ingest, hook, frozen_clock, settings):
    add_webhook("ops", hook.url, "--on", "execution_failed")
    failing_run(ingest, "exec-1")
    services.detect(worker="doomed")
    (claimed,) = services.claim(worker="doomed")  # ... and the worker is killed before it records anything
    assert claimed.state == "claimed"
    work()
    assert hook.requests == []  # its lease still holds
    frozen_clock.advance(seconds=settings.ALERT_CLAIM_LEASE_SECONDS + 1)
    work()
    assert len(hook.requests) == 1
    assert Delivery.objects.get().state == "delivered"


def test_it_retries_5xx_with_growing_backoff_and_delivers_on_the_fourth_attempt(ingest, hook, frozen_clock, settings):
    hook.answer(500, 500, 500)
    add_webhook("ops", hook.url, "--on", "execution_failed")
    failing_run(ingest, "exec-1")
    work()
    delays = []
    for attempt in (1, 2, 3):
        delivery = Delivery.objects.get()
        assert (delivery.state, delivery.attempts) == ("pending", attempt)
        delay = (delivery.next_attempt_at.timestamp() * 1000 - frozen_clock.now_ms()) / 1000
        ceiling = settings.ALERT_RETRY_FIRST_SECONDS * 2 ** (attempt - 1)
        assert ceiling / 2 <= delay <= ceiling
        delays.append(delay)
        frozen_clock.advance(seconds=delay / 2)
        work()
        assert len(hook.requests) == attempt  # not due yet
        frozen_clock.advance(seconds=delay)
        work()
    assert len(hook.requests) == 4 and len(set(hook.event_ids())) == 1
    delivery = Delivery.objects.get()
    assert (delivery.state, delivery.attempts) == ("delivered", 4)
    log = list(DeliveryAttempt.objects.order_by("number").values_list("number", "outcome", "status_code",
                                                                      "response_excerpt"))
    assert log == [(1, "retry", 500, "scripted"), (2, "retry", 500, "scripted"), (3, "retry", 500, "scripted"),
                   (4, "success", 200, "ok")]
    assert AlertChannel.objects.get().consecutive_failures == 0


def test_it_does_not_retry_a_4xx_and_records_it(ingest, hook, frozen_clock):
    hook.answer(410, body=b"gone \x1b[31m for good")
    add_webhook("ops", hook.url, "--on", "execution_failed")
    failing_run(ingest, "exec-1")
    work()
    frozen_clock.advance(seconds=24 * 3600)
    work()
    assert len(hook.requests) == 1
    delivery = Delivery.objects.get()
    assert (delivery.state, delivery.attempts) == ("failed", 1)
    attempt = DeliveryAttempt.objects.get()
    assert (attempt.outcome, attempt.status_code) == ("failed", 410)
    assert attempt.response_excerpt == "gone \ufffd[31m for good"  # the escape character is not kept
    assert "410" in attempt.error and attempt.latency_ms >= 0


def test_it_honours_retry_after_on_429(ingest, hook, frozen_clock):
    hook.answer(429, headers={"Retry-After": "120"})
    add_webhook("ops", hook.url, "--on", "execution_failed")
    failing_run(ingest, "exec-1")
    work()
    delivery = Delivery.objects.get()
    assert delivery.state == "pending"
    assert delivery.next_attempt_at.timestamp() * 1000 - frozen_clock.now_ms() == pytest.approx(120_000, abs=1)
    frozen_clock.advance(seconds=119)
    work()
    assert len(hook.requests) == 1
    frozen_clock.advance(seconds=2)
    work()
    assert len(hook.requests) == 2 and Delivery.objects.get().state == "delivered"


def test_it_retries_when_the_receiver_is_unreachable(ingest, frozen_clock):
    from tests.mail import closed_port

    add_webhook("ops", f"http://127.0.0.1:{closed_port()}/hook", "--on", "execution_failed")
    failing_run(ingest, "exec-1")
    work()
    delivery = Delivery.objects.get()
    assert (delivery.state, delivery.attempts) == ("pending", 1)
    attempt = DeliveryAttempt.objects.get()
    assert attempt.status_code is None and "ConnectionError" in attempt.error


def test_it_fires_for_an_execution_gone_stale_without_any_post(ingest, hook, frozen_clock, settings):
    add_webhook("ops", hook.url, "--on", "execution_stale")
    failing_run(ingest, "quiet", finish=False)
    failing_run(ingest, "finished")
    work()
    assert hook.requests == []
    frozen_clock.advance(seconds=settings.EXECUTION_STALE_AFTER_SECONDS - 10)
    assert ingest.task("lively", "t0", result()).status_code == 201  # news, and then none
    frozen_clock.advance(seconds=11)
    work()
    assert [(b["kind"], b["execution"]["executionId"]) for b in bodies(hook)] == [("execution_stale", "quiet")]
    from alerts.payloads import summary

    quiet_since = clock.utc_datetime(bodies(hook)[0]["execution"]["lastEventAt"]).strftime("%Y-%m-%d %H:%M:%S UTC")
    assert summary(AlertEvent.objects.get()) == f"Execution quiet is stale: no news since {quiet_since}"
    frozen_clock.advance(seconds=3600)
    work()
    work()
    assert sorted(b["execution"]["executionId"] for b in bodies(hook)) == ["lively", "quiet"]


def _attempt(number: int, status: str, score: int | None, **extra) -> dict:
    qc = {} if score is None else {"qcVerification": {"passed": score >= 70, "score": score, "feedback": "",
                                                      "issues": [], "requiredFixes": []}}
    return result(status, attemptNumber=number, **qc, **extra)


def test_it_fires_on_low_qc_scores_many_attempts_and_rework_tokens_by_their_thresholds(ingest, hook, frozen_clock):
    add_webhook("ops", hook.url, "--on", "qc_score_below,attempts_above,rework_tokens_above",
                "--qc-score-below", "50", "--attempts-above", "2", "--rework-tokens-above", "2000")
    add_webhook("strict", f"{hook.url}/strict", "--on", "qc_score_below,attempts_above,rework_tokens_above",
                "--qc-score-below", "30", "--attempts-above", "3", "--rework-tokens-above", "2500")
    ingest.start("exec-1", "plan-a", 2, 1_764_000_000_000)
    for n, status, score in ((1, "failure", 40), (2, "failure", 60), (3, "success", 90)):
        assert ingest.task("exec-1", "retried", _attempt(n, status, score)).status_code == 201
    for n, status, score in ((1, "failure", 80), (2, "success", 95)):
        assert ingest.task("exec-1", "fine", _attempt(n, status, score)).status_code == 201
    work()
    fired = sorted((b["kind"], b.get("task", {}).get("taskId")) for b in bodies(hook, "/hook"))
    # 3 failed attempts × 1,250 tokens = 3,750 of rework; "retried": 3 attempts, lowest QC 40.
    assert fired == [("attempts_above", "retried"), ("qc_score_below", "retried"), ("rework_tokens_above", None)]
    qc = next(b for b in bodies(hook) if b["kind"] == "qc_score_below")
    assert qc["task"]["lowestQcScore"] == 40 and qc["task"]["attemptCount"] == 3
    assert qc["url"] == "http://127.0.0.1:8000/executions/exec-1/tasks/retried"
    assert [b["kind"] for b in bodies(hook, "/strict")] == ["rework_tokens_above"]


def test_it_keeps_alerts_of_ids_that_would_join_to_one_string_apart(ingest, hook, frozen_clock):
    add_webhook("ops", hook.url, "--on", "attempts_above", "--attempts-above", "1")
    for eid, tid in (("a-b", "c"), ("a", "b-c")):
        for n in (1, 2):
            assert ingest.task(eid, tid, _attempt(n, "failure" if n == 1 else "success", None)).status_code == 201
    work()
    assert sorted((b["execution"]["executionId"], b["task"]["taskId"]) for b in bodies(hook)) == [
        ("a", "b-c"), ("a-b", "c")]
    assert sorted(AlertEvent.objects.values_list("subject_key", flat=True)) == ['["a","b-c"]', '["a-b","c"]']


def _finished(ingest, eid: str, *, failed: bool, plan: str = "plan-a") -> None:
    assert ingest.start(eid, plan, 1, 1_764_000_000_000).status_code == 201
    assert ingest.task(eid, "t0", result("failure" if failed else "success")).status_code == 201
    assert ingest.finish(eid, 1_764_000_100_000).status_code == 201


def test_it_fires_a_failure_rate_on_crossing_and_again_only_after_recovery(ingest, hook, frozen_clock):
    add_webhook("ops", hook.url, "--on", "failure_rate_above", "--failure-rate-above", "0.5",
                "--window-minutes", "60")
    _finished(ingest, "ok-1", failed=False)
    _finished(ingest, "bad-1", failed=True)
    _finished(ingest, "other-plan", failed=True, plan="plan-b")  # plan-b alone: 1 of 1, its own crossing
    work()
    assert [b["window"]["planId"] for b in bodies(hook)] == ["plan-b"]  # plan-a: 1 of 2 is not above 0.5
    frozen_clock.advance(seconds=60)
    _finished(ingest, "bad-2", failed=True)
    work()
    crossing = [b["window"] for b in bodies(hook) if b["window"]["planId"] == "plan-a"]
    assert crossing == [{"planId": "plan-a", "windowMinutes": 60, "runs": 3, "failed": 2, "rate": 0.6667,
                         "crossing": 1}]
    assert bodies(hook)[-1]["url"] == "http://127.0.0.1:8000/plans/plan-a"
    _finished(ingest, "bad-3", failed=True)  # still above: no second alert
    frozen_clock.advance(seconds=60)
    work()
    assert len(bodies(hook)) == 2
    frozen_clock.advance(seconds=3600)  # all of them leave the window, with nothing posted: recovered
    work()
    _finished(ingest, "bad-4", failed=True)
    work()
    second = [b["window"] for b in bodies(hook) if b["window"]["planId"] == "plan-a"]
    assert [(w["crossing"], w["runs"], w["failed"]) for w in second] == [(1, 3, 2), (2, 1, 1)]
    assert sorted(AlertEvent.objects.values_list("subject_key", flat=True)) == [
        '["plan-a",1]', '["plan-a",2]', '["plan-b",1]']


def test_it_disables_a_channel_after_consecutive_failures_and_sends_what_waited_once_re_enabled(
        ingest, hook, frozen_clock, settings):
    settings.ALERT_CHANNEL_MAX_FAILURES = 3
    hook.answer(503, 503, 503, 503)
    add_webhook("ops", hook.url, "--on", "execution_failed")
    failing_run(ingest, "exec-1")
    work_rounds(6, frozen_clock, settings)
    assert len(hook.requests) == 3
    channel = AlertChannel.objects.get()
    assert not channel.enabled and channel.consecutive_failures == 3
    assert "3 failed deliveries in a row" in channel.disabled_reason and channel.disabled_at is not None
    failing_run(ingest, "exec-2")
    work()
    assert len(hook.requests) == 3 and Delivery.objects.filter(state="pending").count() == 2
    hook.answer(200, 200)
    services.channel_enable(channel_id=channel.pk)
    work()
    assert sorted(b["execution"]["executionId"] for b in bodies(hook)[-2:]) == ["exec-1", "exec-2"]
    assert AlertChannel.objects.get().consecutive_failures == 0


def test_it_gives_a_delivery_up_after_the_last_attempt(ingest, hook, frozen_clock, settings):
    settings.ALERT_DELIVERY_MAX_ATTEMPTS = 2
    hook.answer(500, 500, 500)
    add_webhook("ops", hook.url, "--on", "execution_failed")
    failing_run(ingest, "exec-1")
    work_rounds(4, frozen_clock, settings)
    assert len(hook.requests) == 2
    assert Delivery.objects.get().state == "dead"
    assert list(DeliveryAttempt.objects.order_by("number").values_list("outcome", flat=True)) == ["retry", "dead"]


def test_it_signs_with_both_secrets_during_a_rotation_grace_and_then_with_the_new_one(ingest, hook, frozen_clock):
    old = add_webhook("ops", hook.url, "--on", "execution_failed")
    out = io.StringIO()
    call_command("rotate_webhook_secret", "ops", "--grace-hours", "1", stdout=out)
    new = out.getvalue().strip()
    assert new != old and new.startswith("whsec_")
    verify = documented_verify()
    failing_run(ingest, "exec-1")
    work()
    first = hook.requests[-1]
    assert first.headers["X-Mimir-Signature"].count("v1=") == 2
    assert verify(new, first.headers, first.body) and verify(old, first.headers, first.body)
    frozen_clock.advance(seconds=3601)
    failing_run(ingest, "exec-2")
    work()
    later = hook.requests[-1]
    assert later.headers["X-Mimir-Signature"].count("v1=") == 1
    # Signed an hour ahead of the real clock (the recipe's window would refuse it): checked by hand.
    ts = int(later.headers["X-Mimir-Timestamp"])
    assert later.headers["X-Mimir-Signature"] == f"v1={signature(new, ts, later.body)}"


def test_it_posts_slack_text_blocks_with_untrusted_text_escaped(ingest, hook, frozen_clock):
    add_webhook("team", hook.url, "--slack", "--on", "execution_failed")
    failing_run(ingest, "<b>&evil>")
    work()
    (body,) = bodies(hook)
    assert body["text"] == "Execution &lt;b&gt;&amp;evil&gt; failed"
    assert "<b>" not in json.dumps(body["blocks"])
    assert "%3Cb%3E%26evil%3E" in body["blocks"][1]["elements"][0]["text"]
    assert "X-Mimir-Signature" in hook.requests[0].headers


def test_it_mails_an_email_channel_through_the_smtp_server(ingest, frozen_clock, settings):
    from tests.mail import mail_server, use_smtp

    services.channel_create(name="mail", kind="email", email="oncall@example.com",
                            rules=[services.RuleSpec(kind="execution_failed")])
    with mail_server() as server:
        use_smtp(settings, server.port)
        failing_run(ingest, "exec-1")
        work()
    (message,) = server.messages
    assert message["To"] == "oncall@example.com"
    assert message["Subject"] == "[Mimir] Execution exec-1 failed"
    assert server.link(message) == "http://127.0.0.1:8000/executions/exec-1"
    assert Delivery.objects.get().state == "delivered"


def test_it_lists_rules_with_their_last_firing_and_a_channels_delivery_log(ingest, hook, frozen_clock):
    from alerts import selectors

    hook.answer(500)
    add_webhook("ops", hook.url, "--on", "execution_failed,execution_stale")
    failing_run(ingest, "exec-1")
    work()
    frozen_clock.advance(seconds=3600)
    work()
    rules = {r.kind: r for r in selectors.rules_list()}
    assert rules["execution_failed"].fired == 1 and rules["execution_failed"].last_fired is not None
    assert rules["execution_stale"].fired == 0 and rules["execution_stale"].last_fired is None
    (channel,) = selectors.channels_list()
    assert (channel.delivered, channel.pending, channel.undelivered) == (1, 0, 0)
    log = selectors.channel_delivery_log(channel_id=channel.pk)
    assert [(a.number, a.status_code) for a in log] == [(2, 200), (1, 500)]
    assert log[0].delivery.event.rule.kind == "execution_failed"


def _operators(plan) -> list[str]:
    return [plan["operatorType"], *(op for child in plan.get("children", []) for op in _operators(child))]


@pytest.mark.parametrize("name", ["alerts/changed_executions", "alerts/stale_executions", "alerts/failure_rates",
                                  "alerts/execution_tasks"])
def test_it_reads_the_graph_for_detection_through_an_index(name):
    from neomodel import db

    from executions.cypher import statement

    with db.driver.session() as session:
        plan = session.run("EXPLAIN " + statement(name)).consume().plan
    operators = _operators(plan)
    assert any(op.startswith(("NodeIndexSeek", "NodeUniqueIndexSeek")) for op in operators), operators
    assert not any(op.startswith(("NodeByLabelScan", "AllNodesScan")) for op in operators), operators


def test_it_sends_a_channel_test_through_the_delivery_log_without_retrying_it(hook, db):
    from alerts import selectors

    channel, secret = services.channel_create(name="ops", kind="webhook", url=hook.url,
                                              rules=[services.RuleSpec(kind="execution_failed")])
    assert services.channel_test_send(channel_id=channel.pk).outcome == "success"
    hook.answer(500)
    failed = services.channel_test_send(channel_id=channel.pk)
    assert (failed.outcome, failed.status_code) == ("retry", 500)
    first, second = hook.requests
    assert json.loads(first.body)["kind"] == "channel_test"
    assert documented_verify()(secret, first.headers, first.body)
    assert first.headers["X-Mimir-Event-Id"] != second.headers["X-Mimir-Event-Id"]
    log = selectors.channel_delivery_log(channel_id=channel.pk)
    assert [(a.status_code, a.outcome) for a in log] == [(500, "failed"), (200, "success")]
    assert sorted(Delivery.objects.values_list("state", flat=True)) == ["delivered", "failed"]
    assert [r.kind for r in selectors.rules_list()] == ["execution_failed"]  # the test's rule is hidden
    assert services.detect(worker="w").created == 0


@pytest.mark.slow
def test_it_delivers_what_was_detected_while_neo4j_is_down_and_detects_again_once_it_is_back(
        own_neo4j, ingest, hook, frozen_clock, caplog):
    stop, restart = own_neo4j
    add_webhook("ops", hook.url, "--on", "execution_failed")
    hook.answer(503)
    failing_run(ingest, "exec-1")
    work()  # detected; its first attempt failed
    stop()
    frozen_clock.advance(seconds=60)
    with caplog.at_level("WARNING", logger="alerts.worker"):
        work()
    assert "alert detection skipped, Neo4j unavailable" in caplog.text
    assert len(hook.requests) == 2 and Delivery.objects.get().state == "delivered"
    restart()
    failing_run(ingest, "exec-2")
    work()
    assert sorted(b["execution"]["executionId"] for b in bodies(hook)) == ["exec-1", "exec-1", "exec-2"]


def test_it_evaluates_an_execution_read_again_in_the_overlap_only_once_per_change(ingest, hook, frozen_clock,
                                                                                  cypher_calls):
    from executions.cypher import statement

    add_webhook("ops", hook.url, "--on", "attempts_above", "--attempts-above", "1")
    failing_run(ingest, "exec-1", finish=False)
    memo = services.DetectionMemo()
    tasks_read = statement("alerts/execution_tasks")

    def detect():
        cypher_calls.clear()
        frozen_clock.advance(seconds=1)
        found = services.detect(worker="w", memo=memo)
        return found.executions_read, found.executions_evaluated, cypher_calls.count(tasks_read)

    assert detect() == (1, 1, 1)
    assert detect() == (1, 0, 0)  # in the overlap again, unchanged: neither evaluated nor its tasks read
    assert ingest.task("exec-1", "t1", _attempt(2, "success", None)).status_code == 201
    assert detect() == (1, 1, 1)
    add_webhook("more", f"{hook.url}/more", "--on", "execution_failed")  # other rules: evaluated again
    assert detect() == (1, 1, 1)
    assert [b["task"]["taskId"] for b in bodies(hook)] == []  # nothing sent by detection alone
    work()
    assert [b["task"]["taskId"] for b in bodies(hook)] == ["t1"]


def test_it_reads_again_only_the_task_executions_changed_since_the_version_their_execution_was_read_at(ingest):
    from neomodel import db

    from executions.cypher import statement

    failing_run(ingest, "exec-1", finish=False)  # t0 failed (QC 20), t1 passed

    def tasks_since(version: int) -> list[str]:
        rows, _ = db.cypher_query(statement("alerts/execution_tasks"), {
            "executions": [{"id": "exec-1", "since": version}], "qcBelow": None, "attemptsAbove": 0})
        return sorted(row[1] for row in rows)

    (version,), = db.cypher_query("MATCH (e:OrchestrationExecution {executionId: 'exec-1'}) RETURN e.version")[0]
    assert tasks_since(-1) == ["t0", "t1"]
    assert tasks_since(version) == []  # nothing changed since
    assert ingest.task("exec-1", "t1", _attempt(2, "success", 90)).status_code == 201
    assert tasks_since(version) == ["t1"]


def test_it_adds_a_rule_to_a_channel_only_as_valid_as_channel_create_takes_it(db, hook):
    channel, _ = services.channel_create(name="ops", kind="webhook", url=hook.url)
    assert not channel.rules.exists()
    rule = services.rule_create(channel_id=channel.pk, plan_id="etl",
                                spec=services.RuleSpec(kind="qc_score_below", threshold=70))
    assert (rule.channel_id, rule.kind, rule.plan_id, rule.threshold) == (channel.pk, "qc_score_below", "etl", 70)
    refused = [
        ({"spec": services.RuleSpec(kind="qc_score_below", threshold=170)}, "threshold"),
        ({"spec": services.RuleSpec(kind="failure_rate_above", threshold=0.5)}, "window_minutes"),
        ({"spec": services.RuleSpec(kind="execution_failed"), "plan_id": ""}, "plan_id"),
    ]
    for kwargs, field in refused:
        with pytest.raises(InvalidInput) as error:
            services.rule_create(channel_id=channel.pk, **kwargs)
        assert [e["field"] for e in error.value.errors] == [field]
    with pytest.raises(NotFound):
        services.rule_create(channel_id=channel.pk + 1, spec=services.RuleSpec(kind="execution_failed"))
    assert list(channel.rules.values_list("pk", flat=True)) == [rule.pk]


def test_it_deletes_a_rule_with_its_alerts_and_answers_its_channel(db, hook):
    channel, _ = services.channel_create(name="ops", kind="webhook", url=hook.url,
                                         rules=[services.RuleSpec(kind="execution_failed")])
    rule = channel.rules.get()
    services.channel_test_send(channel_id=channel.pk)
    event = AlertEvent.objects.create(rule=rule, subject_key='["e"]', payload={})
    assert services.rule_delete(rule_id=rule.pk) == channel.pk
    assert not AlertEvent.objects.filter(pk=event.pk).exists()
    # The hidden rule "send test" goes through is not a rule to delete, nor its log.
    hidden = channel.rules.get(kind="channel_test")
    with pytest.raises(NotFound):
        services.rule_delete(rule_id=hidden.pk)
    assert Delivery.objects.filter(channel=channel).count() == 1


def test_it_reports_a_backlog_when_a_pass_stops_at_its_limit_and_reads_on_from_there(ingest, hook, frozen_clock):
    add_webhook("ops", hook.url, "--on", "execution_failed")
    for eid in ("exec-1", "exec-2", "exec-3"):
        failing_run(ingest, eid)
        frozen_clock.advance(seconds=1)  # one lastEventAt each: the cursor's order is theirs
    first = services.detect(worker="w", limit=2)
    assert (first.executions_read, first.backlog, first.created) == (2, True, 2)
    second = services.detect(worker="w", limit=2)
    assert (second.backlog, second.created) == (False, 1)
    work()
    assert sorted(b["execution"]["executionId"] for b in bodies(hook)) == ["exec-1", "exec-2", "exec-3"]
