"""Many orchestrators at once, and what their logs say the graph must hold afterwards.

Shared by the reliability test (tests/test_reliability_load.py, against Django's live server) and
the load script (bench/load_faults.py, against gunicorn, optionally through a Neo4j outage), so
that both check exactly the same thing:

- `make_scripts`: one ordered script of ingest events per client, with failures and retries,
  replays of already-sent events and task results before their execution's start;
- `run_clients`: one thread per client sends its script over real HTTP, retrying 503s and
  connection errors (honoring Retry-After), and keeps a log of every answer; given several app
  hosts, client i sends to host i % N and its replays to the next host, so that a replay is
  answered by another process than the one that committed the original;
- `expected_from_logs`, `VERIFY_QUERY`, `compare`: each execution's counters and FAILED_TASK links
  as the acknowledged events imply them, what Neo4j holds, and every difference.

Only the standard library and `requests`; it imports nothing from the app, the tests or bench/.
"""

from __future__ import annotations

import collections
import random
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

T0 = 1_763_000_000_000


# ---------------------------------------------------------------- the workload


@dataclass
class Event:
    kind: str  # start | task | finish
    eid: str
    method: str
    path: str
    body: dict
    task: str | None = None
    attempt: int | None = None
    replay: bool = False


def make_scripts(prefix: str, executions: int, tasks: int, clients: int, seed: int = 1, *,
                 replay_rate: float = 0.10, early_rate: float = 0.3, fail_rate: float = 0.08,
                 retry_rate: float = 0.12) -> list[list[Event]]:
    """One ordered script of events per client. Each execution belongs to one client; a client
    interleaves its executions. Per execution: start (for `early_rate` of executions only after a few
    task results), task results in shuffled order (retried tasks: attempt 1 fails, attempt 2 passes,
    attempt 1 always first), finish; then `replay_rate` of all these events are re-sent later."""
    rng = random.Random(seed)
    per_execution: list[list[Event]] = []
    for e in range(executions):
        eid = f"{prefix}-e{e:03d}"
        evs: list[Event] = []
        order = list(range(tasks))
        rng.shuffle(order)
        for t in order:
            tid = f"t{t:03d}"
            fate = rng.random()
            attempts = [("failure", 1)] if fate < fail_rate else (
                [("failure", 1), ("success", 2)] if fate < fail_rate + retry_rate else [("success", 1)])
            for status, number in attempts:
                result = {
                    "status": status, "attemptNumber": number,
                    "output": f"output of {tid} attempt {number}", "duration": rng.randint(100, 60_000),
                    "error": "QC failed" if status == "failure" else None,
                    "tokens": {"input": rng.randint(1, 4000), "output": rng.randint(1, 2000)},
                    "toolCalls": rng.randint(0, 9), "timestamp": T0 + e * 10_000_000 + t * 1_000 + number,
                    "qcVerification": {"passed": status == "success", "score": 90 if status == "success" else 20,
                                       "feedback": "", "issues": [] if status == "success" else ["wrong"],
                                       "requiredFixes": []},
                }
                evs.append(Event("task", eid, "POST", f"/executions/{eid}/tasks",
                                 {"taskId": tid, "result": result, "task": {"id": tid, "title": f"Task {t}"}},
                                 task=tid, attempt=number))
        start = Event("start", eid, "POST", "/executions", {
            "executionId": eid, "planId": f"{prefix}-plan", "totalTasks": tasks, "startTime": T0 + e * 10_000_000,
        })
        at = rng.randint(1, min(5, len(evs))) if rng.random() < early_rate else 0
        evs.insert(at, start)
        evs.append(Event("finish", eid, "POST", f"/executions/{eid}/finish",
                         {"endTime": T0 + e * 10_000_000 + 5_000_000}))
        # Replays: a verbatim copy of an already-sent event, later in the same execution's stream.
        for i in sorted(rng.sample(range(len(evs)), k=int(round(replay_rate * len(evs)))), reverse=True):
            ev = evs[i]
            copy = Event(ev.kind, ev.eid, ev.method, ev.path, ev.body, ev.task, ev.attempt, replay=True)
            evs.insert(rng.randint(i + 1, len(evs)), copy)
        per_execution.append(evs)
    scripts: list[list[Event]] = [[] for _ in range(clients)]
    owned: list[list[list[Event]]] = [[] for _ in range(clients)]
    for i, evs in enumerate(per_execution):
        owned[i % clients].append(list(evs))
    for c, streams in enumerate(owned):
        while any(streams):  # interleave, keeping each execution's own order
            s = rng.choice([s for s in streams if s])
            scripts[c].append(s.pop(0))
    return [s for s in scripts if s]


# ---------------------------------------------------------------- the clients


@dataclass
class LogEntry:
    event: Event
    statuses: list[int] = field(default_factory=list)  # every answer, in order (0 = connection error)
    retry_after: list[str | None] = field(default_factory=list)  # Retry-After of each 503
    times: list[float] = field(default_factory=list)  # monotonic time of each answer
    body: Any = None  # the final answer's JSON
    final: int | None = None
    latencies: list[float] = field(default_factory=list)  # seconds each request took, in order
    host: int = 0  # which of the app hosts it was sent to


class Client:
    """One orchestrator: sends its script in order, retrying 503s and connection errors. With several
    `base_url`s its events go to the one at index `home` and its replays to the next one."""

    def __init__(self, base_url: str | Sequence[str], token: str, *, home: int = 0, max_retry_after: float = 10.0,
                 give_up_after: float = 180.0, deadline: float | None = None,
                 on_done: Callable[[LogEntry], None] | None = None):
        import requests

        urls = [base_url] if isinstance(base_url, str) else list(base_url)
        self.base_urls = [url.rstrip("/") + "/api/v1" for url in urls]
        self.home = home % len(self.base_urls)
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"
        self.max_retry_after, self.give_up_after = max_retry_after, give_up_after
        self.deadline = deadline or (time.monotonic() + 1800)
        self.on_done = on_done
        self.log: list[LogEntry] = []

    def send(self, ev: Event) -> LogEntry:
        import requests

        entry = LogEntry(ev, host=(self.home + ev.replay) % len(self.base_urls))
        self.log.append(entry)
        give_up = min(self.deadline, time.monotonic() + self.give_up_after)
        while True:
            sent = time.monotonic()
            try:
                r = self.session.request(ev.method, self.base_urls[entry.host] + ev.path, json=ev.body, timeout=60)
                status, retry_after = r.status_code, r.headers.get("Retry-After")
                try:
                    body = r.json()
                except ValueError:
                    body = r.text[:500]
            except requests.RequestException as exc:
                status, retry_after, body = 0, None, f"{type(exc).__name__}: {exc}"
            entry.statuses.append(status)
            entry.times.append(time.monotonic())
            entry.latencies.append(entry.times[-1] - sent)
            entry.body = body
            if status == 503:
                entry.retry_after.append(retry_after)
            if status in (0, 502, 503, 504) and time.monotonic() < give_up:
                wait = 1.0
                if retry_after and retry_after.isdigit():
                    wait = float(retry_after)  # honored, capped so that a bad header cannot stall the run
                time.sleep(min(wait, self.max_retry_after, max(0.0, give_up - time.monotonic())))
                continue
            entry.final = status
            if self.on_done:
                self.on_done(entry)
            return entry

    def run(self, script: list[Event]) -> Client:
        for ev in script:
            if time.monotonic() > self.deadline:
                break
            self.send(ev)
        return self


def run_clients(base_url: str | Sequence[str], token: str, scripts: list[list[Event]], *, max_seconds: float = 900,
                on_done: Callable[[LogEntry], None] | None = None, **client_kwargs) -> list[Client]:
    """One client per script, all at once; with several `base_url`s, client i's home is host i % N."""
    deadline = time.monotonic() + max_seconds
    clients = [Client(base_url, token, home=i, deadline=deadline, on_done=on_done, **client_kwargs)
               for i in range(len(scripts))]
    with ThreadPoolExecutor(max_workers=len(scripts)) as pool:
        list(pool.map(lambda pair: pair[0].run(pair[1]), zip(clients, scripts, strict=True)))
    return clients


# ---------------------------------------------------------------- what the logs say, and the checks


def expected_from_logs(clients: list[Client]) -> tuple[dict[str, dict], list[str]]:
    """Per execution, the state that the acknowledged events imply; plus problems found in the logs."""
    problems: list[str] = []
    attempts: dict[str, dict[tuple[str, int], dict]] = collections.defaultdict(dict)
    starts: dict[str, dict] = {}
    finishes: dict[str, dict] = {}
    for client in clients:
        for entry in client.log:
            ev = entry.event
            what = f"{ev.kind} {ev.eid} {ev.task or ''}"
            if entry.final not in (200, 201):
                problems.append(f"{what} was never acknowledged: {entry.statuses} {entry.body!r:.200}")
                continue
            if ev.kind == "task":
                attempts[ev.eid][(ev.task, ev.attempt)] = ev.body["result"]
            elif ev.kind == "start":
                starts[ev.eid] = ev.body
            else:
                finishes[ev.eid] = ev.body
            replayed = isinstance(entry.body, dict) and entry.body.get("replayed")
            if ev.replay and (entry.final != 200 or replayed is not True):
                problems.append(f"replay of {what} answered {entry.final} replayed={replayed}")
            if not ev.replay and entry.statuses[:1] in ([200], [201]) and entry.final != 201:
                problems.append(f"first post of {what} answered {entry.final} (expected 201)")
    expected = {}
    for eid in set(attempts) | set(starts) | set(finishes):
        latest: dict[str, dict] = {}
        for (task, _number), result in sorted(attempts[eid].items()):
            latest[task] = result  # sorted by attempt number: the last one wins
        failed = sorted(t for t, r in latest.items() if r["status"] == "failure")
        exp = {
            "tasksSuccessful": sum(r["status"] == "success" for r in latest.values()),
            "tasksFailed": len(failed),
            "tokensTotal": sum(r["tokens"]["input"] + r["tokens"]["output"] for r in attempts[eid].values()),
            "toolCalls": sum(r["toolCalls"] for r in attempts[eid].values()),
            "failedTaskIds": failed,
            "taskExecutions": len(latest),
            "attempts": len(attempts[eid]),
            "started": eid in starts,
            "tasksTotal": starts[eid]["totalTasks"] if eid in starts else 0,
            "finished": eid in finishes,
        }
        exp["status"] = ("failed" if failed else "completed") if eid in finishes else "running"
        expected[eid] = exp
    return expected, problems


VERIFY_QUERY = """
MATCH (e:OrchestrationExecution) WHERE e.executionId STARTS WITH $prefix
RETURN e.executionId AS eid, e.tasksSuccessful AS tasksSuccessful, e.tasksFailed AS tasksFailed,
       e.tokensTotal AS tokensTotal, e.toolCalls AS toolCalls, e.tasksTotal AS tasksTotal,
       e.started AS started, e.finished AS finished, e.status AS status,
       [(e)-[:FAILED_TASK]->(t) | t.taskId] AS failedTaskIds,
       COUNT { (e)-[:HAS_TASK_EXECUTION]->() } AS taskExecutions,
       COUNT { (e)-[:HAS_TASK_EXECUTION]->()-[:HAS_ATTEMPT]->() } AS attempts
"""


def compare(rows: list[dict], expected: dict[str, dict]) -> list[str]:
    got = {r["eid"]: dict(r, failedTaskIds=sorted(r["failedTaskIds"])) for r in rows}
    problems = []
    for eid in sorted(expected):
        row = got.get(eid)
        if row is None:
            problems.append(f"{eid}: not in Neo4j")
            continue
        for key, value in expected[eid].items():
            if row[key] != value:
                problems.append(f"{eid}: {key} = {row[key]!r}, the clients' logs say {value!r}")
    for eid in sorted(set(got) - set(expected)):
        problems.append(f"{eid}: in Neo4j but never acknowledged to a client")
    return problems


def status_summary(clients: list[Client]) -> collections.Counter:
    return collections.Counter(s for c in clients for e in c.log for s in e.statuses)


def cross_host_replays(clients: list[Client]) -> int:
    """How many replays were sent to another app host than their client's originals."""
    return sum(1 for c in clients for e in c.log if e.event.replay and e.host != c.home)
