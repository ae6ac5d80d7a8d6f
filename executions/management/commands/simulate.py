"""A demo orchestrator: streams realistic executions of our demo plans through the real HTTP ingest
API, the way an orchestrator like Mimir does, so that the dashboard has something to show.

    python manage.py simulate --url http://127.0.0.1:8000 [--token T] [--executions N] [--speed X]
                              [--seed S] [--concurrency 3] [--backfill 20] [--via-client]

It registers the plans, posts `--backfill` past executions spread over the last two weeks in
batches (history and trends for the failure report), then runs live executions (`--executions`,
default: until stopped) with up to `--concurrency` in flight. Ctrl-C or SIGTERM stops it cleanly:
executions still in flight are finished as cancelled.

Every post is idempotent, so on 503 or a connection error the same post is simply sent again.
`--via-client` sends them through our Python client (clients/python) instead of plain requests.
"""

from __future__ import annotations

import itertools
import os
import random
import secrets
import signal
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from executions import clock, services
from executions.demo.loader import DemoPlan, load_demo_plans
from executions.demo.scripting import Attempt, ExecutionScript, TaskRun, script_execution
from executions.demo.transport import ClientApi, HttpApi, IngestApi, IngestClient, TokenRejected
from executions.errors import ServiceError

DAY_MS = 86_400_000
BACKFILL_DAYS = 14
BACKFILL_EXECUTIONS_PER_BATCH = 5

__all__ = ["Command", "IngestClient", "Simulator"]  # IngestClient: the default transport, tested here

# ---------------------------------------------------------------- the simulation


class ExecutionIds:
    """Mimir-style ids, `exec-<epoch ms>`, unique within the run even when two executions start in
    the same millisecond."""

    def __init__(self):
        self._used: set[int] = set()
        self._lock = threading.Lock()

    def issue(self, *, at_ms: int) -> str:
        with self._lock:
            while at_ms in self._used:
                at_ms += 1
            self._used.add(at_ms)
            return f"exec-{at_ms}"


class Simulator:
    def __init__(
        self, *, api: IngestApi, plans: list[DemoPlan], speed: float, seed: int, stop: threading.Event,
        log: Callable[[str], None], warn: Callable[[str], None], verbose: bool,
    ):
        self.api = api
        self.plans = plans
        self.speed = speed
        self.seed = seed
        self.stop = stop
        self.log = log
        self.warn = warn
        self.verbose = verbose
        self.ids = ExecutionIds()
        self.fatal: Exception | None = None

    def _rng(self, *parts: object) -> random.Random:
        # One generator per execution, derived from the seed and the execution's index: the story
        # is the same whatever order the threads happen to run in.
        return random.Random("/".join(map(str, (self.seed, *parts))))

    def _sleep(self, *, work_ms: float) -> bool:
        """Wait `work_ms` of simulated time; True if the run is stopping."""
        return self.stop.wait(work_ms / self.speed / 1000)

    # ------------------------------------------------------------ plans

    def register_plans(self) -> None:
        for plan in self.plans:
            self.api.put_plan(plan_id=plan.plan_id, workflow=plan.workflow)

    # ------------------------------------------------------------ backfill

    def backfill(self, *, count: int) -> None:
        """Post `count` finished past executions, spread over the last two weeks, in a few batches."""
        began = time.monotonic()
        now = clock.now_ms()
        statuses: Counter[str] = Counter()
        batch: list[dict[str, Any]] = []
        for index in range(count):
            rng = self._rng("backfill", index)
            age_days = rng.uniform(0.05, BACKFILL_DAYS)
            script = script_execution(plan=rng.choice(self.plans), rng=rng, age_days=age_days, may_stall=False)
            start = now - int(age_days * DAY_MS)
            batch += _past_events(script=script, execution_id=self.ids.issue(at_ms=start), start_ms=start, rng=rng)
            if (index + 1) % BACKFILL_EXECUTIONS_PER_BATCH == 0 or index == count - 1:
                statuses += self._post_batch(events=batch)
                batch = []
            if self.stop.is_set():
                return
        summary = ", ".join(f"{n} {status}" for status, n in sorted(statuses.items()))
        self.log(f"backfilled {count} executions over the last {BACKFILL_DAYS} days "
                 f"in {time.monotonic() - began:.1f}s ({summary})")

    def _post_batch(self, *, events: list[dict[str, Any]]) -> Counter[str]:
        answer = self.api.send_events(events=events)
        statuses: Counter[str] = Counter()
        for item in (answer or {}).get("results", []):
            if item["status"] not in (200, 201):
                self.warn(f"backfill event {item['index']} ({item['type']}) refused: "
                         f"HTTP {item['status']} {item['body'].get('detail', '')}")
            elif item["type"] == "execution_finished":
                statuses[item["body"]["execution"]["status"]] += 1
        return statuses

    # ------------------------------------------------------------ live

    def run_live(self, *, executions: int | None, concurrency: int) -> None:
        indexes = itertools.count()
        claim_lock = threading.Lock()

        def claim() -> int | None:
            with claim_lock:
                index = next(indexes)
            return index if executions is None or index < executions else None

        def worker(slot: int) -> None:
            pause_ms = slot * 2_500.0  # staggered, so that the slots do not start and finish in lockstep
            while not self.stop.is_set() and (index := claim()) is not None:
                if self._sleep(work_ms=pause_ms):
                    return
                pause_ms = self._rng("gap", index).uniform(1_000, 5_000)
                try:
                    self._run_live_execution(index=index)
                except TokenRejected as exc:
                    self.fatal = exc
                    self.stop.set()
                except Exception:  # noqa: BLE001 - a bug in one execution must not end the demo
                    self.warn(f"execution {index} crashed:\n{traceback.format_exc()}")

        threads = [threading.Thread(target=worker, args=(slot,), name=f"simulate-{slot}", daemon=True)
                   for slot in range(concurrency)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def _run_live_execution(self, *, index: int) -> None:
        rng = self._rng("live", index)
        plan = rng.choice(self.plans)
        script = script_execution(plan=plan, rng=rng)
        started = time.monotonic()
        execution_id = self.ids.issue(at_ms=clock.now_ms())
        body = {"executionId": execution_id, "planId": plan.plan_id, "totalTasks": len(plan.tasks),
                "startTime": clock.now_ms()}
        if self.api.start_execution(body=body) is None:
            return
        self.log(f"started   {execution_id}  {plan.plan_id:<26} {len(plan.tasks)} tasks")
        posted: Counter[str] = Counter()
        for stage_index, stage in enumerate(script.stages):
            if self.stop.is_set():
                break
            posted += self._play_stage(execution_id=execution_id, stage=stage)
            # The odd execution goes quiet for a while: the dashboard shows it running, no news.
            pause = script.stall_ms if stage_index == script.stall_after_stage else rng.randint(300, 1_500)
            if stage_index < len(script.stages) - 1 and self._sleep(work_ms=pause):
                break
        stopping = self.stop.is_set()
        finish = {"endTime": clock.now_ms(), "cancelled": script.cancelled or stopping}
        # When stopping, one try only: shutdown must not hang on a server that is down.
        answer = self.api.finish_execution(execution_id=execution_id, body=finish, patient=not stopping)
        self.log(_finished_line(execution_id=execution_id, script=script, answer=answer, posted=posted,
                                seconds=time.monotonic() - started, stopping=stopping))

    def _play_stage(self, *, execution_id: str, stage: tuple[TaskRun, ...]) -> Counter[str]:
        """Play one stage; counts the retries and replays posted. The tasks of a parallel group work,
        and post their results, at the same time."""
        with ThreadPoolExecutor(max_workers=len(stage), thread_name_prefix=execution_id) as pool:
            return sum(pool.map(lambda run: self._play_task(execution_id=execution_id, run=run), stage), Counter())

    def _play_task(self, *, execution_id: str, run: TaskRun) -> Counter[str]:
        posted: Counter[str] = Counter()
        for attempt in run.attempts:
            if self._sleep(work_ms=attempt.work_ms):
                break
            duration = max(1, round(attempt.work_ms / self.speed))
            body = _task_body(run=run, attempt=attempt, duration_ms=duration, timestamp_ms=clock.now_ms())
            answer = self.api.record_task_result(execution_id=execution_id, body=body)
            posted["retries"] += attempt.number > 1
            if self.verbose and answer is not None:
                self.log(f"  {execution_id} {run.task['id']} attempt {attempt.number}: {attempt.result['status']}")
            if attempt.replay and answer is not None:
                # A client that lost the answer sends the same post again: nothing may change.
                again = self.api.record_task_result(execution_id=execution_id, body=body)
                posted["replays"] += 1
                if again is not None and not again.get("replayed"):
                    self.warn(f"replayed result of {execution_id}/{run.task['id']} was not reported as replayed")
        return posted


def _task_body(*, run: TaskRun, attempt: Attempt, duration_ms: int, timestamp_ms: int) -> dict[str, Any]:
    result = {**attempt.result, "duration": duration_ms, "timestamp": timestamp_ms}
    return {"taskId": run.task["id"], "result": result, "task": run.task}


def _past_events(
    *, script: ExecutionScript, execution_id: str, start_ms: int, rng: random.Random
) -> list[dict[str, Any]]:
    """The whole execution as batch events, timed as it would have run (speed 1) from `start_ms`."""
    plan_id = script.plan.plan_id
    events: list[dict[str, Any]] = [{"type": "execution_started", "executionId": execution_id, "planId": plan_id,
                                     "totalTasks": len(script.plan.tasks), "startTime": start_ms}]
    at_ms = start_ms + rng.randint(300, 1_500)
    results = []
    for stage in script.stages:
        stage_end = at_ms
        for run in stage:
            finished_at = at_ms
            for attempt in run.attempts:
                finished_at += attempt.work_ms
                body = _task_body(run=run, attempt=attempt, duration_ms=attempt.work_ms, timestamp_ms=finished_at)
                results.append({"type": "task_result", "executionId": execution_id, **body})
            stage_end = max(stage_end, finished_at)
        at_ms = stage_end + rng.randint(300, 1_500)
    events += sorted(results, key=lambda e: e["result"]["timestamp"])
    events.append({"type": "execution_finished", "executionId": execution_id, "endTime": at_ms,
                   "cancelled": script.cancelled})
    return events


def _finished_line(
    *, execution_id: str, script: ExecutionScript, answer: dict[str, Any] | None, posted: Counter[str], seconds: float,
    stopping: bool,
) -> str:
    head = f"finished  {execution_id}  {script.plan.plan_id:<26}"
    execution = (answer or {}).get("execution")
    if execution is None:
        if stopping:
            # Stopping, the client tries once and gives up quietly: there is no warning to point to.
            return f"{head} (stopped by signal before its finish was confirmed: it may stay running)"
        return f"{head} (finish not confirmed; see the warnings above)"
    return (f"{head} {execution['status']:<9} {execution['tasksSuccessful']}/{execution['tasksTotal']} ok, "
            f"{execution['tasksFailed']} failed, {posted['retries']} retries, {posted['replays']} replayed posts, "
            f"{execution['tokensTotal']:,} tokens, {seconds:.1f}s" + (" (stopped by signal)" if stopping else ""))


# ---------------------------------------------------------------- the command


def _positive_float(raw: str) -> float:
    value = float(raw)
    if value <= 0:
        raise ValueError(raw)
    return value


class Command(BaseCommand):
    help = "Stream realistic demo executions through the HTTP ingest API (a fake Mimir)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="the dashboard's base URL")
        parser.add_argument("--token", help="ingest token (default: $MIMIR_INGEST_TOKEN, else a new one is created)")
        parser.add_argument("--executions", type=int, default=None, help="live executions to run (default: forever)")
        parser.add_argument("--speed", type=_positive_float, default=1.0, help="time factor: 10 runs ten times faster")
        parser.add_argument("--seed", type=int, default=None, help="make every choice and generated text repeatable")
        parser.add_argument("--concurrency", type=int, default=3, help="live executions in flight at once")
        parser.add_argument("--backfill", type=int, default=20,
                            help=f"past executions to post first, spread over the last {BACKFILL_DAYS} days")
        parser.add_argument("--via-client", action="store_true",
                            help="post through the Python client (clients/python) instead of plain HTTP calls")

    def handle(self, *args: Any, url: str, token: str | None, executions: int | None, speed: float,
               seed: int | None, concurrency: int, backfill: int, via_client: bool = False,
               **options: Any) -> None:
        # call_command() skips the parser's type checks, so the ranges are checked here.
        if speed <= 0 or concurrency < 1 or backfill < 0 or (executions is not None and executions < 0):
            raise CommandError("--speed must be positive, --concurrency at least 1, "
                               "--backfill and --executions not negative")
        output_lock = threading.Lock()

        def log(line: str) -> None:
            with output_lock:
                self.stdout.write(f"{datetime.now():%H:%M:%S} {line}")
                self.stdout.flush()

        def warn(line: str) -> None:
            with output_lock:
                self.stderr.write(f"{datetime.now():%H:%M:%S} warning: {line}")

        token = token or os.environ.get("MIMIR_INGEST_TOKEN") or self._create_token(log=log)
        stop = threading.Event()
        api = (ClientApi(base_url=url, token=token, stop=stop, warn=warn) if via_client
               else HttpApi(IngestClient(base_url=url, token=token, stop=stop, warn=warn)))
        simulator = Simulator(
            api=api,
            plans=load_demo_plans(), speed=speed,
            # Always a seed, and always logged, so that any run can be told again with --seed.
            seed=seed if seed is not None else random.SystemRandom().randrange(10**6),
            stop=stop, log=log, warn=warn, verbose=int(options.get("verbosity", 1)) >= 2,
        )
        restore_signals = _stop_on_signals(stop=stop)
        try:
            self._run(simulator=simulator, url=url, backfill=backfill, executions=executions, concurrency=concurrency)
        except KeyboardInterrupt:  # the second Ctrl-C: leave at once
            log("interrupted; executions in flight were left running")
            return
        finally:
            restore_signals()
        if stop.is_set():
            log("stopped")

    def _run(self, *, simulator: Simulator, url: str, backfill: int, executions: int | None, concurrency: int) -> None:
        via = " through the Python client" if isinstance(simulator.api, ClientApi) else ""
        simulator.log(f"simulating against {url}{via} with seed {simulator.seed}")
        try:
            simulator.register_plans()
            simulator.log(f"registered plans {', '.join(p.plan_id for p in simulator.plans)}")
            if backfill:
                simulator.backfill(count=backfill)
            if executions != 0:
                simulator.run_live(executions=executions, concurrency=concurrency)
        except TokenRejected as exc:
            raise CommandError(str(exc)) from exc
        if simulator.fatal is not None:
            raise CommandError(str(simulator.fatal))

    def _create_token(self, *, log: Callable[[str], None]) -> str:
        # The simulator runs next to the app, with the same settings and database.
        name = f"demo-simulator-{secrets.token_hex(4)}"
        try:
            token = services.ingest_token_create(name=name)
        except (ServiceError, DatabaseError) as exc:
            raise CommandError(
                f"could not create an ingest token ({exc}); pass --token or set MIMIR_INGEST_TOKEN"
            ) from exc
        log(f"created ingest token {name} (revoke with: manage.py revoke_ingest_token {name})")
        return token


def _stop_on_signals(*, stop: threading.Event) -> Callable[[], None]:
    """Ctrl-C and SIGTERM ask the run to stop (a second Ctrl-C interrupts at once). Returns a function
    restoring the previous handlers. Signals can only be handled on the main thread."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    for sig in previous:
        signal.signal(sig, on_signal)

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    return restore
