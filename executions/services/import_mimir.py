"""Import a graph written by Mimir's own persistence module (`:Node {type: ...}`) into our model.

Each Mimir execution becomes the events our ingest API takes (its start, one task result per task
execution node, its finish) and goes through `ingest.events_apply`, so an import cannot disagree
with ingest: counters, tokens, statuses, durations and links are derived by the same statements,
never copied, and a second run is all replays (0 changes) by construction. That also makes an
interrupted import resumable: run it again. Plans are PUT from their JSON `content` first.

What Mimir stored wrongly (docs/reference: mimir-graph.md) is repaired on the way and reported:
counters and tokens (re-derived), durations (from start and end, so whole days count), orphaned
task executions (attached to their execution, created when it has no node), executions a crash
left `running` (kept running, with Mimir's last write as their last news, so they show stale),
QC verdicts of tasks where no QC ran (Mimir stored `passed = false, score = 0`), QC lists (Mimir
joined them with newlines) and plan links (Mimir's `planId` is always the execution's own id).

Reading Mimir's graph lives here rather than in selectors/: it is the import's input, from the
product's database or another one (`MimirSource`), not a read of our graph.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import neo4j.exceptions

from .. import clock, cypher, graph
from ..errors import DatabaseUnavailable, InvalidInput, ServiceError
from .ingest import EventResult, events_apply

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
COUNTER_FIELDS = ("tasksSuccessful", "tasksFailed", "tokensInput", "tokensOutput", "tokensTotal", "toolCalls")


# ---------------------------------------------------------------- the source


class MimirSource:
    """Where Mimir's graph is read: the product's own database (`MimirSource()`), or another Neo4j
    (`MimirSource(url="bolt://user:pass@host:7687")`). Statements are the `import/*.cypher` files."""

    def __init__(self, url: str | None = None):
        self.url = url
        self._driver = None
        if url:
            parts = urlsplit(url)
            auth = (unquote(parts.username), unquote(parts.password or "")) if parts.username else None
            try:
                self._driver = neo4j.GraphDatabase.driver(self.label, auth=auth)
            except (neo4j.exceptions.ConfigurationError, ValueError) as exc:
                raise InvalidInput(
                    str(exc), errors=[{"field": "source", "message": "must be a bolt:// or neo4j:// URL"}]
                ) from exc

    @property
    def label(self) -> str:
        """The source as the report names it (never with its password)."""
        if not self.url:
            return "the product's database"
        parts = urlsplit(self.url)
        return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))

    def _unreachable(self, exc: Exception) -> DatabaseUnavailable:
        return DatabaseUnavailable(f"the Mimir source {self.label}: {exc}")

    def check(self) -> None:
        """Fail at once, naming the source, when it cannot be reached (the driver's reads would
        retry for half a minute first)."""
        if self._driver is None:
            return
        try:
            self._driver.verify_connectivity()
        except (neo4j.exceptions.DriverError, neo4j.exceptions.Neo4jError, OSError) as exc:
            raise self._unreachable(exc) from exc

    def rows(self, name: str, params: dict[str, Any] | None = None) -> list[list[Any]]:
        if self._driver is None:
            return graph.read(name, params)
        text = cypher.statement(name)
        try:
            with self._driver.session() as session:
                return session.execute_read(lambda tx: [r.values() for r in tx.run(text, params or {})])
        except (neo4j.exceptions.ServiceUnavailable, neo4j.exceptions.AuthError, OSError) as exc:
            raise self._unreachable(exc) from exc

    def close(self) -> None:
        if self._driver is not None:
            self._driver.close()


# ---------------------------------------------------------------- the report


@dataclass
class Repair:
    """One thing Mimir stored wrongly, and what the import made of it."""

    kind: str
    executionId: str | None
    taskId: str | None = None
    field: str | None = None
    mimir: Any = None
    derived: Any = None
    note: str = ""

    def line(self) -> str:
        where = self.executionId or ""
        if self.taskId:
            where += f" / {self.taskId}"
        what = f"{self.field}: {self.mimir!r} -> {self.derived!r}" if self.field else ""
        return f"{self.kind:<16} {where}  {what}{'  ' if what and self.note else ''}{self.note}"


@dataclass
class ImportReport:
    source: str
    dry_run: bool
    read: Counter = field(default_factory=Counter)
    executions: Counter = field(default_factory=Counter)
    task_executions: Counter = field(default_factory=Counter)
    plans: Counter = field(default_factory=Counter)
    plan_links: Counter = field(default_factory=Counter)
    repairs: list[Repair] = field(default_factory=list)
    unmatched: list[dict[str, str]] = field(default_factory=list)
    refused: list[dict[str, Any]] = field(default_factory=list)
    stopped_after: int | None = None

    @property
    def changes(self) -> int:
        """Writes this run made (or, dry, would make): executions imported (any of their events
        changed something), task executions and plans created or updated."""
        written = (self.task_executions, self.plans)
        return self.executions["imported"] + sum(c["created"] + c["updated"] for c in written)

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "dryRun": self.dry_run,
            "changes": self.changes,
            "read": dict(self.read),
            "executions": dict(self.executions),
            "taskExecutions": dict(self.task_executions),
            "plans": dict(self.plans),
            "planLinks": dict(self.plan_links),
            "repairs": [asdict(r) for r in self.repairs],
            "unmatched": self.unmatched,
            "refused": self.refused,
            "stoppedAfter": self.stopped_after,
        }

    def lines(self) -> list[str]:
        def counts(c: Counter) -> str:
            return ", ".join(f"{v} {k}" for k, v in sorted(c.items())) or "none"

        head = "dry run (nothing written): " if self.dry_run else ""
        out = [
            f"{head}read from {self.source}: {counts(self.read)}",
            f"executions: {counts(self.executions)}",
            f"task executions: {counts(self.task_executions)}",
            f"plans: {counts(self.plans)}",
            f"plan links: {counts(self.plan_links)}",
            f"changes: {self.changes}",
        ]
        if self.stopped_after is not None:
            out.append(f"stopped after {self.stopped_after} executions (--limit): run again to go on")
        by_kind = Counter(r.kind for r in self.repairs)
        out.append(f"repairs: {len(self.repairs)}" + (f" ({counts(by_kind)})" if by_kind else ""))
        out += [f"  {r.line()}" for r in self.repairs]
        if self.unmatched:
            out.append(f"executions without a plan link: {len(self.unmatched)}")
            out += [f"  {u['executionId']}: {u['reason']}" for u in self.unmatched]
        if self.refused:
            out.append(f"refused: {len(self.refused)}")
            out += [f"  {r['what']} {r['id']}: {r['reason']}" for r in self.refused]
        return out


# ---------------------------------------------------------------- conversions


def epoch_ms(value: Any) -> int | None:
    """A Mimir time (a Neo4j DateTime, an ISO string, or epoch milliseconds) as epoch ms, exactly."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"not a time: {value!r}")
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, str):
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    else:  # neo4j.time.DateTime
        moment = value.to_native()
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    # Integer arithmetic: float seconds * 1000 can land a millisecond off.
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def _int(value: Any, default: int = 0) -> Any:
    """Mimir's numbers: integers, or floats where its JS driver sent plain numbers. Anything else
    is passed on for our validation to refuse, naming the field."""
    if value is None:
        return default
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# A line that continues a list item rather than starting one: indented, or a list marker.
_CONTINUATION = re.compile(r"^(\s+\S|[-*+\u2022]\s|\d+[.)]\s)")


def split_qc_list(text: str | None) -> tuple[list[str], bool]:
    """A QC list Mimir joined with newlines, split back. An item that itself held newlines cannot be
    told apart from several items; the one shape that is kept whole is an item whose first line ends
    with ':' followed by indented or bulleted lines ("Prices are estimates:\\n- flights"). Answers
    the items and whether any lines were kept together that way (the report says so)."""
    if not text:
        return [], False
    items: list[str] = []
    folded = False
    for line in text.split("\n"):
        if items and items[-1].split("\n", 1)[0].rstrip().endswith(":") and _CONTINUATION.match(line):
            items[-1] += "\n" + line
            folded = True
        else:
            items.append(line)
    return items, folded


def _qc(eid: str, node: dict[str, Any], plan_task: dict[str, Any] | None) -> tuple[dict | None, list[Repair]]:
    """The QC verdict of a task execution node, or None when no QC ran, and the repairs."""
    task_id = node.get("taskId")
    issues, fixes, feedback = node.get("qcIssues"), node.get("qcRequiredFixes"), node.get("qcFeedback")
    passed, score = node.get("qcPassed"), node.get("qcScore")
    # Mimir stores `passed = false, score = 0` whether no QC ran or a QC failed with 0. A QC that ran
    # leaves its lists ('' for an empty one), its feedback, a pass or a score behind.
    ran = issues is not None or fixes is not None or feedback is not None or passed is True or bool(score)
    if not ran:
        if passed is None and score is None:
            return None, []
        stored = {"qcPassed": passed, "qcScore": score}
        if (plan_task or {}).get("taskType") == "transformer" or not node.get("qcRoleDescription"):
            why = "a transformer" if plan_task and plan_task.get("taskType") == "transformer" else "no QC role"
            return None, [Repair("qc_not_run", eid, task_id, "qc", stored, None, f"no QC ran ({why})")]
        note = (
            "a QC role but no issues, fixes or feedback stored: a failed QC scored 0 cannot be told from "
            "no QC; recorded as no QC ran"
        )
        return None, [Repair("qc_ambiguous", eid, task_id, "qc", stored, None, note)]
    repairs = []
    lists = {}
    for name, text in (("issues", issues), ("requiredFixes", fixes)):
        items, folded = split_qc_list(text)
        lists[name] = items
        if folded:
            note = "lines under an item ending in ':' kept with it; every other newline starts an item"
            repairs.append(Repair("qc_list_split", eid, task_id, f"qc.{name}", text, items, note))
    qc = {
        "passed": bool(passed),
        "score": _int(score),
        "feedback": feedback or "",
        "issues": lists["issues"],
        "requiredFixes": lists["requiredFixes"],
    }
    return qc, repairs


def _task_event(eid: str, node: dict[str, Any], plan_task: dict[str, Any] | None) -> tuple[dict, list[Repair]]:
    """A Mimir task execution node as the task-result event our ingest takes (one attempt: Mimir
    kept only the last), and the repairs of its own values."""
    task_id = node.get("taskId")
    qc, repairs = _qc(eid, node, plan_task)
    tokens_in, tokens_out = _int(node.get("tokensInput")), _int(node.get("tokensOutput"))
    stored_total = _int(node.get("tokensTotal"), None)
    summed = tokens_in + tokens_out if isinstance(tokens_in, int) and isinstance(tokens_out, int) else None
    if summed is not None and stored_total not in (None, summed):
        repairs.append(Repair("task_counter", eid, task_id, "tokensTotal", stored_total, summed))
    result: dict[str, Any] = {
        "taskId": task_id,
        "status": node.get("status"),
        "output": node.get("output") or "",
        "error": node.get("error"),
        "duration": _int(node.get("duration")),
        "agentRoleDescription": node.get("agentRoleDescription"),
        "prompt": node.get("prompt"),
        "tokens": {"input": tokens_in, "output": tokens_out},
        "toolCalls": _int(node.get("toolCalls")),
        "attemptNumber": _int(node.get("attemptNumber"), 1),
        "timestamp": epoch_ms(node.get("timestamp")),
    }
    if qc is not None:
        result["qcVerification"] = qc
    task: dict[str, Any] = {"id": task_id, "title": node.get("taskTitle"), "qcRole": node.get("qcRoleDescription")}
    if plan_task and plan_task.get("parallelGroup") is not None:
        task["parallelGroup"] = _int(plan_task["parallelGroup"])
    event = {"type": "task_result", "executionId": eid, "taskId": task_id, "result": result, "task": task}
    return event, repairs


@dataclass
class MimirPlan:
    plan_id: str
    node: dict[str, Any]
    content: dict[str, Any] | None
    error: str | None = None

    @property
    def tasks(self) -> dict[str, dict[str, Any]]:
        tasks = (self.content or {}).get("tasks") or []
        return {t["id"]: t for t in tasks if isinstance(t, dict) and isinstance(t.get("id"), str)}

    def event(self) -> dict[str, Any]:
        content = self.content or {}
        overview = content.get("overview") if isinstance(content.get("overview"), dict) else {}
        return {
            "type": "plan",
            "planId": self.plan_id,
            "title": self.node.get("title"),
            "description": overview.get("goal"),
            "tasks": content.get("tasks") or [],
            "parallelGroups": content.get("parallelGroups"),
        }


def _plan(node: dict[str, Any]) -> MimirPlan:
    try:
        content = json.loads(node.get("content") or "")
    except ValueError as exc:
        return MimirPlan(node.get("id"), node, None, f"its content is not JSON ({exc})")
    if not isinstance(content, dict):
        return MimirPlan(node.get("id"), node, None, "its content is not a JSON object")
    return MimirPlan(node.get("id"), node, content)


@dataclass
class MimirExecution:
    execution_id: str
    node: dict[str, Any] | None  # None: only orphaned task executions name it
    tasks: list[dict[str, Any]]
    orphans: list[dict[str, Any]]

    @property
    def task_ids(self) -> set[str]:
        return {t.get("taskId") for t in self.tasks + self.orphans}

    @property
    def last_news(self) -> int | None:
        """When Mimir last wrote anything of it: our `lastEventAt`, so staleness stays true."""
        nodes = [self.node or {}, *self.tasks, *self.orphans]
        times = [t for n in nodes for k in ("updated", "timestamp") if (t := epoch_ms(n.get(k))) is not None]
        return max(times) if times else None


def match_plan(execution: MimirExecution, plans: dict[str, MimirPlan]) -> tuple[str | None, str]:
    """The plan an execution ran, by its task ids (Mimir's own link names the execution itself):
    the one plan holding every task id it ran and, when it announced a total, exactly that many
    tasks. Answers (plan id, '') or (None, why not)."""
    ids = execution.task_ids
    if not ids:
        return None, "it ran no tasks, so no plan can be told by its task ids"
    fits = [p for p in plans.values() if ids <= set(p.tasks)]
    total = _int((execution.node or {}).get("tasksTotal"), None)
    sized = [p for p in fits if not total or len(p.tasks) == total]
    if len(sized) == 1:
        return sized[0].plan_id, ""
    if len(sized) > 1:
        return None, f"{len(sized)} plans hold its task ids: {', '.join(sorted(p.plan_id for p in sized))}"
    if fits:
        return None, (
            f"it announced {total} tasks; the plans holding its task ids have "
            + ", ".join(f"{len(p.tasks)} ({p.plan_id})" for p in fits)
        )
    return None, "no plan holds all of its task ids"


def execution_events(
    execution: MimirExecution, plan_id: str | None, plans: dict[str, MimirPlan]
) -> tuple[list[dict], list[Repair]]:
    """The events of one Mimir execution (start, task results, finish) and the repairs of its tasks."""
    eid, node = execution.execution_id, execution.node
    plan_tasks = plans[plan_id].tasks if plan_id in plans else {}
    events: list[dict] = []
    repairs: list[Repair] = []
    if node is not None and node.get("startTime") is not None:
        events.append(
            {
                "type": "execution_started",
                "executionId": eid,
                # Unmatched: Mimir's own planId (its execution id) is kept, an unregistered plan.
                "planId": plan_id or node.get("planId") or eid,
                "totalTasks": _int(node.get("tasksTotal")),
                "startTime": epoch_ms(node.get("startTime")),
            }
        )
    for task in sorted(execution.tasks + execution.orphans, key=lambda t: (epoch_ms(t.get("timestamp")) or 0)):
        event, task_repairs = _task_event(eid, task, plan_tasks.get(task.get("taskId")))
        events.append(event)
        repairs += task_repairs
    for orphan in execution.orphans:
        note = (
            "no link from its execution: attached to it"
            if node is not None
            else "its execution has no node: created from its task results (no start known)"
        )
        repairs.append(Repair("orphan_attached", eid, orphan.get("taskId"), note=note))
    if node is not None and node.get("endTime") is not None:
        events.append(
            {
                "type": "execution_finished",
                "executionId": eid,
                "endTime": epoch_ms(node.get("endTime")),
                "cancelled": node.get("status") == "cancelled",
            }
        )
    return events, repairs


def _execution_repairs(execution: MimirExecution, derived: dict[str, Any]) -> list[Repair]:
    """What Mimir stored on the execution node against what our derivation made of its events."""
    eid, node = execution.execution_id, execution.node
    if node is None:
        return []
    repairs = [
        Repair("counter", eid, field=name, mimir=node.get(name), derived=derived[name])
        for name in COUNTER_FIELDS
        if node.get(name) is not None and _int(node.get(name)) != derived[name]
    ]
    if node.get("planId") != derived["planId"]:
        repairs.append(Repair("plan_link", eid, field="planId", mimir=node.get("planId"), derived=derived["planId"]))
    if node.get("status") != derived["status"]:
        note = f"{derived['tasksMissing']} announced tasks never reported" if derived["status"] == "incomplete" else ""
        repairs.append(
            Repair("status", eid, field="status", mimir=node.get("status"), derived=derived["status"], note=note)
        )
    if derived["durationMs"] is not None and _int(node.get("duration"), None) != derived["durationMs"]:
        repairs.append(
            Repair("duration", eid, field="durationMs", mimir=node.get("duration"), derived=derived["durationMs"],
                   note="from startTime to endTime")
        )
    if derived["status"] == "running":
        news = execution.last_news
        when = clock.utc_datetime(news).isoformat() if news is not None else "unknown"
        repairs.append(
            Repair("left_running", eid, note=f"never finished; last news {when}: shown stale once that is old")
        )
    return repairs


# ---------------------------------------------------------------- the import


def _reason(error: ServiceError) -> str:
    fields = "; ".join(f"{e['field']}: {e['message']}" for e in getattr(error, "errors", []) or [])
    return f"{error}" + (f" ({fields})" if fields else "")


def _executions(source: MimirSource, eids: list[str]) -> Iterator[MimirExecution]:
    orphans: dict[str, list[dict]] = {}
    for eid, task in source.rows("import/mimir_orphan_tasks", {"eids": eids}):
        orphans.setdefault(eid, []).append(task)
    for eid, node, tasks in source.rows("import/mimir_executions", {"eids": eids}):
        yield MimirExecution(eid, node, tasks, orphans.get(eid, []))


def _import_plans(source: MimirSource, report: ImportReport, dry_run: bool) -> dict[str, MimirPlan]:
    plans: dict[str, MimirPlan] = {}
    for (node,) in source.rows("import/mimir_plans"):
        plan = _plan(node)
        report.read["plans"] += 1
        if plan.error:
            report.plans["refused"] += 1
            report.refused.append({"what": "plan", "id": plan.plan_id, "reason": plan.error})
            continue
        plans[plan.plan_id] = plan
        received = epoch_ms(node.get("updated") or node.get("created") or node.get("timestamp"))
        (item,) = events_apply(events=[plan.event()], received_at=received, dry_run=dry_run).items
        _count(report.plans, item.answer)
        if isinstance(item.answer, ServiceError):
            report.refused.append({"what": "plan", "id": plan.plan_id, "reason": _reason(item.answer)})
    return plans


def _count(counter: Counter, answer: EventResult | ServiceError) -> None:
    if isinstance(answer, ServiceError):
        counter["refused"] += 1
    else:
        counter["unchanged" if answer.outcome == "replayed" else answer.outcome] += 1


def _import_execution(
    execution: MimirExecution, plan_id: str | None, plans: dict[str, MimirPlan], report: ImportReport, dry_run: bool
) -> None:
    """One execution in one transaction (bounded by one execution's task executions)."""
    eid = execution.execution_id
    events, task_repairs = execution_events(execution, plan_id, plans)
    batch = events_apply(events=events, received_at=execution.last_news, dry_run=dry_run)
    changed = False
    refused = False
    derived = None
    for item, event in zip(batch.items, events, strict=True):
        answer = item.answer
        if event["type"] == "task_result":
            _count(report.task_executions, answer)
        if isinstance(answer, ServiceError):
            refused = True
            what = "task execution" if event["type"] == "task_result" else event["type"].replace("_", " ")
            ident = f"{eid} / {event['taskId']}" if event["type"] == "task_result" else eid
            report.refused.append({"what": what, "id": ident, "reason": _reason(answer)})
            continue
        changed |= answer.changed
        derived = answer.data.get("execution", derived)
    report.executions["refused" if refused else "imported" if changed else "unchanged"] += 1
    if not changed:
        # Already imported as it is: nothing was repaired by this run.
        return
    report.repairs += task_repairs
    if derived is not None:
        report.repairs += _execution_repairs(execution, derived)


def mimir_import(
    *,
    source: MimirSource,
    plan_map: dict[str, str] | None = None,
    dry_run: bool = False,
    limit: int | None = None,
    batch_size: int = 100,
    on_total: Callable[[int], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import Mimir's graph from `source`: its plans, then its executions in id order, `batch_size`
    executions read at a time and each written in its own transaction. `plan_map` ({executionId:
    planId}) links executions that task ids cannot; `limit` stops after that many executions (run
    again to go on); `dry_run` writes nothing and reports what a run would do."""
    report = ImportReport(source=source.label, dry_run=dry_run)
    source.check()
    mapped = dict(plan_map or {})
    plans = _import_plans(source, report, dry_run)
    eids = [eid for (eid,) in source.rows("import/mimir_execution_ids")]
    if limit is not None and limit < len(eids):
        eids = eids[:limit]
        report.stopped_after = limit
    if on_total:
        on_total(len(eids))
    for start in range(0, len(eids), batch_size):
        page = eids[start : start + batch_size]
        for execution in _executions(source, page):
            report.read["executions" if execution.node is not None else "executions without a node"] += 1
            report.read["task executions"] += len(execution.tasks) + len(execution.orphans)
            plan_id = mapped.get(execution.execution_id)
            if plan_id is not None:
                report.plan_links["mapped"] += 1
            else:
                plan_id, why = match_plan(execution, plans)
                if plan_id is not None and execution.node is not None:
                    report.plan_links["matched by task ids"] += 1
                else:
                    if plan_id is not None:
                        why = f"its execution has no node, so no start to link plan {plan_id} to"
                    report.plan_links["unmatched"] += 1
                    report.unmatched.append({"executionId": execution.execution_id, "reason": why})
            _import_execution(execution, plan_id, plans, report, dry_run)
        if on_progress:
            on_progress(len(page))
    return report
