"""The alert commands: add_webhook, list_alert_rules, remove_webhook, rotate_webhook_secret, and
two `deliver_alerts` processes sharing one database."""

from __future__ import annotations

import io
import signal
import subprocess
import sys
import time

import pytest
from django.core.management import CommandError, call_command

from alerts.models import AlertChannel, AlertRule
from tests.support.pages import result
from tests.support.receiver import receiver
from tests.support.servers import REPO, production_env
from tests.support.waiting import wait_until


def run(name: str, *args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(name, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_it_prints_only_the_new_secret_and_creates_a_rule_per_kind(db):
    out, err = run("add_webhook", "ops", "https://ops.example.com/hook", "--on",
                   "execution_failed,qc_score_below,failure_rate_above", "--qc-score-below", "70",
                   "--failure-rate-above", "0.5", "--window-minutes", "60", "--plan", "etl")
    assert out.count("\n") <= 1 and out.strip().startswith("whsec_") and len(out.strip()) > 40
    channel = AlertChannel.objects.get(name="ops")
    assert (channel.kind, channel.url, channel.secret) == ("webhook", "https://ops.example.com/hook", out.strip())
    rules = {r.kind: (r.plan_id, r.threshold, r.window_minutes) for r in AlertRule.objects.all()}
    assert rules == {"execution_failed": ("etl", None, None), "qc_score_below": ("etl", 70.0, None),
                     "failure_rate_above": ("etl", 0.5, 60)}
    slack, _ = run("add_webhook", "team", "https://hooks.slack.test/x", "--slack", "--on", "execution_stale")
    assert slack.strip() != out.strip()
    assert AlertChannel.objects.get(name="team").kind == "slack"
    assert AlertRule.objects.get(channel__name="team").plan_id is None


@pytest.mark.parametrize(("args", "message"), [
    (["--on", "execution_failed,exploded"], "--on: unknown kind(s) exploded"),
    (["--on", ""], "--on: unknown kind(s) (none given)"),
    (["--on", "execution_failed,execution_failed"], "--on: a kind is named twice"),
    (["--on", "qc_score_below"], "--qc-score-below is needed for qc_score_below"),
    (["--on", "execution_failed", "--attempts-above", "2"], "--attempts-above is given but --on does not name"),
    (["--on", "qc_score_below", "--qc-score-below", "170"], "--qc-score-below: qc_score_below threshold must be within 0-100, got 170"),
    (["--on", "failure_rate_above", "--failure-rate-above", "1.5", "--window-minutes", "5"],
     "--failure-rate-above: failure_rate_above threshold must be within 0-1"),
    (["--on", "failure_rate_above", "--failure-rate-above", "0.5"], "--window-minutes is needed"),
    (["--on", "execution_failed", "--window-minutes", "5"], "--window-minutes is given but"),
    (["--on", "rework_tokens_above", "--rework-tokens-above", "-1"], "--rework-tokens-above: rework_tokens_above threshold must be"),
])
def test_it_refuses_bad_options_naming_them(db, args, message):
    with pytest.raises(CommandError) as refused:
        run("add_webhook", "ops", "https://ops.example.com/hook", *args)
    assert message in str(refused.value)
    assert not AlertChannel.objects.exists()


def test_it_refuses_a_bad_url_and_a_taken_name(db):
    with pytest.raises(CommandError, match=r"^URL: not an http\(s\) URL: 'ftp://x'"):
        run("add_webhook", "ops", "ftp://x", "--on", "execution_failed")
    run("add_webhook", "ops", "https://a.example.com", "--on", "execution_failed")
    with pytest.raises(CommandError, match="NAME: a channel named 'ops' exists already"):
        run("add_webhook", "ops", "https://b.example.com", "--on", "execution_stale")
    assert AlertRule.objects.count() == 1


def test_it_lists_rules_and_removes_a_webhook(db):
    assert "no alert rules" in run("list_alert_rules")[0]
    run("add_webhook", "ops", "https://a.example.com", "--on", "execution_failed,attempts_above", "--attempts-above",
        "2", "--plan", "etl")
    run("add_webhook", "team", "https://b.example.com", "--on", "failure_rate_above", "--failure-rate-above",
        "0.25", "--window-minutes", "30")
    lines = run("list_alert_rules")[0].splitlines()
    assert lines[0].split() == ["CHANNEL", "KIND", "PLAN", "THRESHOLD", "STATE", "FIRED", "LAST", "FIRED"]
    assert [line.split()[:4] for line in lines[1:]] == [
        ["ops", "(webhook)", "attempts_above", "etl"], ["ops", "(webhook)", "execution_failed", "etl"],
        ["team", "(webhook)", "failure_rate_above", "(all)"]]
    assert "0.25 over 30 min" in lines[3] and lines[3].endswith("never")
    assert run("remove_webhook", "ops")[0].strip() == "removed ops"
    assert list(AlertRule.objects.values_list("channel__name", flat=True)) == ["team"]
    with pytest.raises(CommandError, match="NAME: no alert channel named 'ops'"):
        run("remove_webhook", "ops")


def test_it_rotates_a_secret_printing_only_the_new_one(db):
    old = run("add_webhook", "ops", "https://a.example.com", "--on", "execution_failed")[0].strip()
    new = run("rotate_webhook_secret", "ops")[0]
    assert new.count("\n") <= 1 and new.strip().startswith("whsec_") and new.strip() != old
    channel = AlertChannel.objects.get()
    assert (channel.secret, channel.previous_secret) == (new.strip(), old)
    hours = (channel.previous_secret_expires_at - channel.created_at).total_seconds() / 3600
    assert 23.9 < hours < 24.1
    run("rotate_webhook_secret", "ops", "--grace-hours", "0")
    channel.refresh_from_db()
    assert channel.previous_secret == "" and channel.previous_secret_expires_at is None
    with pytest.raises(CommandError, match="--grace-hours: the grace period"):
        run("rotate_webhook_secret", "ops", "--grace-hours", "-1")
    with pytest.raises(CommandError, match="NAME: no alert channel named 'nope'"):
        run("rotate_webhook_secret", "nope")


# --- two worker processes ----------------------------------------------------------------------------

@pytest.fixture(params=["sqlite", "postgresql"])
def alert_database_url(request, tmp_path) -> str:
    """A database that separate processes share, by DATABASE_URL: SQLite (the default) and
    PostgreSQL (production's; Debian's server in a private cluster, tests/support/postgres.py), since
    the claim's conditional UPDATE is serialised differently by each."""
    if request.param == "postgresql":
        return request.getfixturevalue("postgres_cluster").create_database("alerts_two_workers")
    return f"sqlite:///{tmp_path / 'alerts.sqlite3'}"


def _manage(env: dict, *args: str) -> str:
    done = subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.slow
def test_it_delivers_each_event_once_with_two_worker_processes_on_one_database(ingest, neo4j_url, alert_database_url,
                                                                             tmp_path):
    events = 24
    env = production_env(neo4j_url, database_url=alert_database_url)
    env.update(ALERT_POLL_SECONDS="1")
    _manage(env, "migrate", "--noinput")
    with receiver() as hook:
        _manage(env, "add_webhook", "ops", hook.url, "--on", "execution_failed")
        for i in range(events // 2):  # half before the workers start, half while they run
            assert ingest.task(f"exec-{i:03}", "t0", result("failure")).status_code == 201
            assert ingest.finish(f"exec-{i:03}", 1_764_000_000_000).status_code == 201
        logs = [tmp_path / f"worker-{n}.log" for n in (1, 2)]
        workers = [subprocess.Popen([sys.executable, "manage.py", "deliver_alerts", "--batch", "3"], cwd=REPO,
                                    env=env, stdout=subprocess.DEVNULL, stderr=log.open("w"))
                   for log in logs]
        try:
            for i in range(events // 2, events):
                assert ingest.task(f"exec-{i:03}", "t0", result("failure")).status_code == 201
                assert ingest.finish(f"exec-{i:03}", 1_764_000_000_000).status_code == 201
            wait_until(lambda: len(hook.requests) >= events, timeout=90,
                       what=lambda: f"{len(hook.requests)} received; " + " | ".join(p.read_text() for p in logs))
            time.sleep(3)  # time for a second copy to show up, if any would
        finally:
            for worker in workers:
                worker.send_signal(signal.SIGTERM)
            codes = [worker.wait(30) for worker in workers]
        ids = hook.event_ids()
        assert len(ids) == events and len(set(ids)) == events
        assert codes == [0, 0], [p.read_text() for p in logs]
        summaries = [p.read_text().strip().splitlines()[-1] for p in logs]
        assert all(" stopped (" in s for s in summaries), summaries
        delivered = [int(s.split(" delivered")[0].rsplit(" ", 1)[-1]) for s in summaries]
        assert sum(delivered) == events


def _passes(summary: str) -> int:
    return int(summary.split(" stopped (")[1].split(" passes")[0])


@pytest.mark.slow
def test_it_detects_once_per_poll_interval_while_alerts_keep_firing(ingest, neo4j_url, tmp_path):
    # A pass that found alerts used to start the next one at once: under steady failures the worker
    # then read Neo4j back to back, competing with ingest. Each post below makes a new alert.
    env = production_env(neo4j_url, database_url=f"sqlite:///{tmp_path / 'alerts.sqlite3'}")
    env.update(ALERT_POLL_SECONDS="1")
    _manage(env, "migrate", "--noinput")
    with receiver() as hook:
        _manage(env, "add_webhook", "ops", hook.url, "--on", "execution_failed")
        # The first writes have Neo4j plan the ingest statements, slow on a cold server: not in the burst.
        assert ingest.task("burst-first", "t0", result("failure")).status_code == 201
        assert ingest.finish("burst-first", 1_764_000_000_000).status_code == 201
        posted = 1
        log = tmp_path / "worker.log"
        worker = subprocess.Popen([sys.executable, "manage.py", "deliver_alerts"], cwd=REPO, env=env,
                                  stdout=subprocess.DEVNULL, stderr=log.open("w"))
        try:
            wait_until(lambda: "started" in log.read_text(), timeout=60, what=lambda: log.read_text())
            began = time.monotonic()
            # A new alert every fifth of a second or so, for long enough to span several passes.
            while time.monotonic() - began < 6 or posted < 10:
                assert ingest.task(f"burst-{posted:04}", "t0", result("failure")).status_code == 201
                assert ingest.finish(f"burst-{posted:04}", 1_764_000_000_000).status_code == 201
                posted += 1
                time.sleep(0.2)
            wait_until(lambda: len(hook.requests) >= posted, timeout=60,
                       what=lambda: f"{len(hook.requests)} of {posted} received; {log.read_text()}")
            running = time.monotonic() - began
        finally:
            worker.send_signal(signal.SIGTERM)
            code = worker.wait(30)
    assert code == 0, log.read_text()
    assert len(set(hook.event_ids())) == posted
    # One pass a second, and one at the start; a little slack for a pass that began late.
    assert _passes(log.read_text().strip().splitlines()[-1]) <= running + 3, log.read_text()
