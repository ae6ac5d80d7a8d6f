"""The live page's poll sends what changed since the version the page has, as htmx out-of-band
swaps: its size follows the change, not the execution. Each poll's response is applied to the
page as htmx applies it (tests/support/live_dom.py) and the outcome must be what a fresh page shows.
Real HTTP through Django, real Neo4j."""

from __future__ import annotations

import random
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.contrib.auth import get_user_model

from executions import services
from tests.support.graph import cypher
from tests.support.live_dom import apply_poll, parse, shown
from tests.support.pages import T0, result

HX = {"HTTP_HX_REQUEST": "true"}
MINUTE = 60_000


def page_of(client, execution_id: str):
    response = client.get(f"/executions/{execution_id}")
    assert response.status_code == 200
    return parse(response.content.decode())


def poll(client, page):
    """One poll of `page` (as its poll element asks), applied to it; returns the response."""
    url = page.one("#live-poll").attrs.get("hx-get")
    assert url, "the page does not poll"
    response = client.get(url, **HX)
    if response.status_code == 200:
        assert apply_poll(page, response.content.decode()) == []
    return response


def assert_current(client, page, execution_id: str) -> None:
    assert shown(page) == shown(page_of(client, execution_id))


def sent_rows(body: str) -> list[str]:
    """The task ids of the rows a poll's answer carries."""
    return re.findall(r'<tr class="task-row[^"]*" id="task-([^"]+)"', body)


def sent_bars(body: str) -> list[str]:
    """The task links of the timeline bars a poll's answer carries."""
    return re.findall(r'<div class="tl-label"><a href="([^"]+)"', body)


def seed_tasks(ingest, execution_id: str, count: int, *, title_chars: int = 20) -> None:
    events = [{"type": "execution_started", "executionId": execution_id, "planId": "p", "totalTasks": count + 10,
               "startTime": T0}]
    for i in range(count):
        events.append({"type": "task_result", "executionId": execution_id, "taskId": f"t{i:04d}",
                       "task": {"id": f"t{i:04d}", "title": (f"Task {i} " * title_chars)[:title_chars],
                                "parallelGroup": i % 5},
                       "result": result(timestamp=T0 + (i + 1) * 1000, duration=500 + i)})
    for start in range(0, len(events), 250):
        response = ingest.events(events[start:start + 250])
        assert response.status_code == 200 and all(r["status"] < 300 for r in response.json()["results"])


# ---------------------------------------------------------------- the size follows the change


@pytest.mark.slow  # a 1000-task execution
def test_it_answers_a_changed_poll_of_a_1000_task_execution_with_a_few_kilobytes(signed_in, ingest):
    seed_tasks(ingest, "big", 1000, title_chars=2000)
    page_response = signed_in.get("/executions/big")
    page = parse(page_response.content.decode())

    # A new task: one row and one bar are inserted in their places.
    ingest.task("big", "late", result(timestamp=T0 + 500_500, duration=400), task={"id": "late", "title": "L" * 2000})
    response = poll(signed_in, page)
    body = response.content.decode()
    assert response.status_code == 200 and len(response.content) < 8_000, len(response.content)
    assert sent_rows(body) == ["late"] and sent_bars(body) == ["/executions/big/tasks/late"]
    assert_current(signed_in, page, "big")

    # A task that exists gets a new attempt: its row moves to the end, its bar to its new start.
    ingest.task("big", "t0002", result("failure", attemptNumber=2, timestamp=T0 + 2_000_000, duration=30_000,
                                       error="E" * 100_000))
    response = poll(signed_in, page)
    body = response.content.decode()
    assert response.status_code == 200 and len(response.content) < 12_000, len(response.content)
    assert sent_rows(body) == ["t0002"] and sent_bars(body) == ["/executions/big/tasks/t0002"]
    assert "The first 2000 of 100000 characters" in body  # the live page's share of a long error
    assert_current(signed_in, page, "big")
    assert [r.attrs["id"] for r in page.one("#task-rows").child_elements()][-1] == "task-t0002"
    # Nothing new: nothing sent.
    assert poll(signed_in, page).status_code == 204
    # The whole page still holds every task (with titles cut for the table and the timeline).
    assert len(page_response.content) < 3_500_000, len(page_response.content)


def test_it_sends_the_whole_table_and_timeline_to_a_page_that_had_no_task_yet(signed_in, ingest):
    ingest.start("e", "p", 3, T0)
    page = page_of(signed_in, "e")
    assert shown(page)["empty"] and page.select("#timeline-rows") == []
    ingest.task("e", "a", result(timestamp=T0 + MINUTE), task={"id": "a", "title": "First"})
    ingest.task("e", "b", result(timestamp=T0 + 2 * MINUTE), task={"id": "b", "title": "Second"})
    assert poll(signed_in, page).status_code == 200
    assert not shown(page)["empty"] and len(shown(page)["rows"]) == 2 and len(shown(page)["bars"]) == 2
    assert_current(signed_in, page, "e")


def test_it_stops_polling_with_the_finished_page(signed_in, ingest):
    ingest.start("e", "p", 2, T0)
    ingest.task("e", "a", result(timestamp=T0 + MINUTE))
    page = page_of(signed_in, "e")
    ingest.task("e", "b", result(timestamp=T0 + 2 * MINUTE))
    ingest.finish("e", T0 + 3 * MINUTE)
    response = poll(signed_in, page)
    assert response.status_code == 200 and "hx-get" not in response.content.decode()
    assert page.one("#live-poll").attrs.get("hx-get") is None
    fresh = page_of(signed_in, "e")
    assert shown(page) == shown(fresh)
    assert page.one("#timeline-span").attrs == fresh.one("#timeline-span").attrs  # the final span, whole


# ---------------------------------------------------------------- any sequence of changes

# Ids that a CSS selector cannot hold as they are: the out-of-band swaps name rows by a key.
IDS = ["plain", "a,b", "[x]", 'q"uote', "<t>", "ünïcødé", "a-b", "#h", "x.y", "1", "so:me", "e=f"]


# One sequence in the quick tier, more in the whole suite.
@pytest.mark.parametrize("seed", [1, pytest.param(2, marks=pytest.mark.slow), pytest.param(3, marks=pytest.mark.slow)])
def test_it_keeps_the_page_as_a_fresh_one_through_any_sequence_of_changes(signed_in, ingest, seed):
    rng = random.Random(seed)
    ingest.start("e", "p", len(IDS), T0)
    page = page_of(signed_in, "e")
    sent: dict[str, list[dict]] = {}  # task id -> the results posted, by attempt
    for step in range(20):
        for _ in range(rng.randint(1, 3)):
            task_id = rng.choice(IDS)
            attempts = sent.setdefault(task_id, [])
            if attempts and rng.random() < 0.25:  # a replay: nothing changes
                body = attempts[-1]
            else:
                body = result(rng.choice(["success", "failure"]), attemptNumber=len(attempts) + 1,
                              timestamp=T0 + rng.randint(1, 120) * MINUTE, duration=rng.randint(1, 30) * MINUTE,
                              tokens={"input": rng.randint(1, 900), "output": 7}, output=f"out {step}")
                attempts.append(body)
            definition = {"id": task_id, "title": rng.choice(["Build", "Test", "Ship", task_id]),
                          "parallelGroup": rng.randint(0, 3)} if rng.random() < 0.5 else None
            assert ingest.task("e", task_id, body, task=definition).status_code in (200, 201)
        poll(signed_in, page)
        assert_current(signed_in, page, "e")
        if rng.random() < 0.3:
            assert poll(signed_in, page).status_code == 204
    ingest.finish("e", T0 + 200 * MINUTE)
    poll(signed_in, page)
    assert_current(signed_in, page, "e")
    assert page.one("#live-poll").attrs.get("hx-get") is None


def test_it_sends_rows_whose_change_version_is_not_known_as_changed(signed_in, ingest):
    # A graph written before changedVersion was kept: its task executions lack it.
    ingest.start("e", "p", 4, T0)
    for i in range(3):
        ingest.task("e", f"t{i}", result(timestamp=T0 + (i + 1) * MINUTE))
    cypher("MATCH (t:TaskExecution) REMOVE t.changedVersion, t.firstVersion")
    page = page_of(signed_in, "e")
    ingest.task("e", "t3", result(timestamp=T0 + 30 * 1000))
    body = poll(signed_in, page).content.decode()
    assert body.count("<tr ") == 4 and body.count('class="tl-row"') == 4  # the three old ones too
    assert_current(signed_in, page, "e")


@pytest.mark.parametrize("version", ["", "abc", "-1", "99999", "²", "9" * 5000])
def test_it_sends_everything_to_a_poll_with_a_version_the_execution_never_had(signed_in, ingest, version):
    ingest.start("e", "p", 2, T0)
    ingest.task("e", "a", result(timestamp=T0 + MINUTE))
    page = page_of(signed_in, "e")
    ingest.task("e", "b", result(timestamp=T0 + 2 * MINUTE))
    page.one("#live-poll").attrs["hx-get"] = f"/executions/e/poll?version={version}"
    body = poll(signed_in, page).content.decode()
    assert 'id="tasks-card" hx-swap-oob="true"' in body and 'id="timeline-card" hx-swap-oob="true"' in body
    assert_current(signed_in, page, "e")


# ---------------------------------------------------------------- concurrent writers


@pytest.fixture
def live_session(live_server, transactional_db):
    """A session signed in through the live server's sign-in form, and an ingest token."""
    get_user_model().objects.create_user("ada", password="correct horse battery")
    session = requests.Session()
    form = session.get(f"{live_server.url}/accounts/login/", timeout=60).text
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    signed = session.post(f"{live_server.url}/accounts/login/", timeout=60, allow_redirects=False,
                          data={"username": "ada", "password": "correct horse battery", "csrfmiddlewaretoken": csrf},
                          headers={"Referer": f"{live_server.url}/accounts/login/"})
    assert signed.status_code == 302
    return live_server.url, session, services.ingest_token_create(name="writers")


@pytest.mark.slow  # writer threads against the live server
def test_it_misses_no_change_while_writers_post_during_the_polls(live_session):
    base, session, token = live_session
    headers = {"Authorization": f"Bearer {token}"}
    requests.post(f"{base}/api/v1/executions", json={"executionId": "e", "planId": "p", "totalTasks": 200,
                                                     "startTime": T0}, headers=headers, timeout=60).raise_for_status()
    page = parse(session.get(f"{base}/executions/e", timeout=60).text)
    rng = random.Random(5)
    posts = [f"t{rng.randint(0, 59)}" for _ in range(120)]
    attempt_numbers: dict[str, int] = {}
    numbered = []
    for task_id in posts:
        attempt_numbers[task_id] = attempt_numbers.get(task_id, 0) + 1
        numbered.append({"taskId": task_id, "result": result(attemptNumber=attempt_numbers[task_id],
                                                             timestamp=T0 + rng.randint(1, 500) * 1000,
                                                             duration=rng.randint(1, 100) * 100)})
    done = threading.Event()
    polls = {"changed": 0, "problems": []}

    def poller():
        try:
            while True:
                finished = done.is_set()
                url = page.one("#live-poll").attrs["hx-get"]
                response = session.get(base + url, headers={"HX-Request": "true"}, timeout=60)
                if response.status_code == 200:
                    polls["changed"] += 1
                    polls["problems"] += apply_poll(page, response.text)
                elif response.status_code != 204:
                    polls["problems"].append(f"HTTP {response.status_code}")
                if finished:
                    return
                time.sleep(0.05)
        except Exception as exc:  # noqa: BLE001 - reported by the test, not lost in the thread
            polls["problems"].append(repr(exc))

    watcher = threading.Thread(target=poller)
    watcher.start()
    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(lambda body: requests.post(f"{base}/api/v1/executions/e/tasks", json=body,
                                                            headers=headers, timeout=60).status_code, numbered))
    done.set()
    watcher.join(120)
    assert set(statuses) == {201} and polls["problems"] == [] and polls["changed"] > 1
    fresh = parse(session.get(f"{base}/executions/e", timeout=60).text)
    assert shown(page) == shown(fresh)


def test_it_keeps_a_page_current_across_a_rederive_of_an_older_graph(signed_in, ingest):
    ingest.start("e", "p", 3, T0)
    ingest.task("e", "a", result(timestamp=T0 + MINUTE))
    ingest.task("e", "b", result(timestamp=T0 + 2 * MINUTE))
    cypher("MATCH (t:TaskExecution) REMOVE t.changedVersion, t.firstVersion")
    page = page_of(signed_in, "e")
    services.executions_rederive()  # marks them, as of before any page: first seen at version 0
    assert cypher("MATCH (t:TaskExecution) RETURN collect(DISTINCT t.firstVersion)") == [[[0]]]
    ingest.task("e", "c", result(timestamp=T0 + 30_000))
    poll(signed_in, page)
    assert_current(signed_in, page, "e")
