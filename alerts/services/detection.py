"""Detection: one pass reads the graph's facts that changed since the last pass (and the executions
that went stale meanwhile, which nothing posts), evaluates the enabled rules, and writes an outbox
row (`AlertEvent`) and its `Delivery` per new (rule, subject) in ONE SQL transaction.

Idempotent by construction: an event's key is (rule, subject_key), unique in SQL, so re-reading a
fact (the overlap, a replay, a crashed pass run again, another worker) never makes a second one.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q

from executions import clock, graph

from ..models import AlertEvent, AlertRule, Delivery, DetectorState, FailureRateState, now
from ..payloads import event_payload

log = logging.getLogger(__name__)

# Executions read per query and pass; a larger backlog is read by the next passes, from where this
# one stopped.
PASS_LIMIT = 1000
_EXECUTION_KINDS = ("execution_failed", "execution_cancelled", "rework_tokens_above")
_TASK_KINDS = ("qc_score_below", "attempts_above")
_STATE_ID = 1


class DetectionMemo:
    """What one worker evaluated already: the executions read at a `lastEventAt` seen before (the
    overlap reads them again) are skipped, their tasks not read again; of an execution evaluated
    again, only the task executions changed since the execution version its tasks were read at
    (`changedVersion`) are read, so that a pass costs what changed, not what is running. Forgotten
    whenever the enabled rules change; a fresh worker starts empty (and so evaluates the overlap
    once more, every task included)."""

    def __init__(self):
        self.rules_key: tuple | None = None
        self.seen: dict[str, int] = {}
        self.tasks_read_at: dict[str, int] = {}  # execution id -> its version when its tasks were read


@dataclass
class DetectReport:
    ran: bool = False  # False: another worker holds the detection lease, or no rule is enabled
    executions_read: int = 0
    executions_evaluated: int = 0  # of those read, the ones not already evaluated at the same lastEventAt
    stale_read: int = 0
    backlog: bool = False  # a query stopped at its limit: the next pass goes on at once, not after a pause
    created: int = 0
    kinds: dict[str, int] = field(default_factory=dict)


def subject_key(*parts: str | int) -> str:
    # JSON of a list: unambiguous whatever the ids hold (a join on "-" or ":" would not be).
    return json.dumps(list(parts), ensure_ascii=False, separators=(",", ":"))


def _ms(dt) -> int:
    return int(dt.timestamp() * 1000)


def _lease_take(worker: str) -> bool:
    DetectorState.objects.get_or_create(pk=_STATE_ID)
    at = now()
    taken = DetectorState.objects.filter(pk=_STATE_ID).filter(
        Q(lease_until__isnull=True) | Q(lease_until__lt=at) | Q(leased_by=worker)
    ).update(leased_by=worker, lease_until=at + timedelta(seconds=settings.ALERT_CLAIM_LEASE_SECONDS))
    return taken == 1


def _lease_release(worker: str) -> None:
    DetectorState.objects.filter(pk=_STATE_ID, leased_by=worker).update(leased_by="", lease_until=None)


def _read(name: str, params: dict, columns: tuple[str, ...]) -> list[dict]:
    return [dict(zip(columns, row, strict=True)) for row in graph.read(name, params)]


_EXECUTION_COLUMNS = ("executionId", "planId", "status", "finished", "startTime", "endTime", "tasksTotal",
                      "tasksFailed", "reworkTokens", "lastEventAt", "version")


def _matches_plan(rule: AlertRule, plan_id: str | None) -> bool:
    return rule.plan_id is None or rule.plan_id == plan_id


@dataclass
class _Candidate:
    rule: AlertRule
    subject: str
    payload: dict


def _execution_candidates(rules: list[AlertRule], rows: list[dict],
                          tasks_of: dict[str, list[dict]]) -> list[_Candidate]:
    out = []
    for e in rows:
        tasks = tasks_of.get(e["executionId"], [])
        for rule in rules:
            # A rule fires on what happens once it exists, not on the history before it.
            if not _matches_plan(rule, e["planId"]) or (e["lastEventAt"] or 0) < _ms(rule.created_at):
                continue
            if rule.kind == "execution_failed" and e["status"] == "failed" or \
               rule.kind == "execution_cancelled" and e["status"] == "cancelled" or \
               rule.kind == "rework_tokens_above" and (e["reworkTokens"] or 0) > rule.threshold:
                out.append(_Candidate(rule, subject_key(e["executionId"]), event_payload(rule=rule, execution=e)))
            elif rule.kind in _TASK_KINDS:
                for t in tasks:
                    hit = (t["lowestQcScore"] is not None and t["lowestQcScore"] < rule.threshold
                           if rule.kind == "qc_score_below" else (t["attemptCount"] or 0) > rule.threshold)
                    if hit:
                        out.append(_Candidate(rule, subject_key(e["executionId"], t["taskId"]),
                                              event_payload(rule=rule, execution=e, task=t)))
    return out


def _stale_candidates(rules: list[AlertRule], rows: list[dict], stale_ms: int) -> list[_Candidate]:
    return [
        _Candidate(rule, subject_key(e["executionId"]), event_payload(rule=rule, execution=e))
        for e in rows for rule in rules
        if _matches_plan(rule, e["planId"]) and e["lastEventAt"] + stale_ms >= _ms(rule.created_at)
    ]


_Rates = dict[tuple[int, str], tuple[int, int]]


def _failure_rates(rules: list[AlertRule], changed_plans: set[str], now_ms: int) -> _Rates:
    """(rule id, plan id) → (runs, failed) for every plan a failure-rate rule must look at now: the
    plans of executions that changed, and those it stands above the threshold for (the window moves,
    so a plan recovers with nothing posted)."""
    if not rules:
        return {}
    above = defaultdict(set)
    states = FailureRateState.objects.filter(rule__in=rules, above=True).values_list("rule_id", "plan_id")
    for rule_id, plan_id in states:
        above[rule_id].add(plan_id)
    by_window: dict[int, dict[int, set[str]]] = defaultdict(dict)
    for rule in rules:
        plans = {rule.plan_id} if rule.plan_id is not None else changed_plans | above[rule.pk]
        by_window[rule.window_minutes][rule.pk] = plans
    rates = {}
    for minutes, plans_of in by_window.items():
        wanted = sorted(set().union(*plans_of.values()) - {None})
        if not wanted:
            continue
        rows = _read("alerts/failure_rates", {"planIds": wanted, "since": now_ms - minutes * 60_000},
                     ("planId", "runs", "failed"))
        counts = {r["planId"]: (r["runs"], r["failed"]) for r in rows}
        for rule_id, plans in plans_of.items():
            for plan_id in plans:
                if plan_id is not None:
                    rates[(rule_id, plan_id)] = counts.get(plan_id, (0, 0))
    return rates


def _failure_rate_transitions(rules: dict[int, AlertRule], rates: _Rates) -> list[_Candidate]:
    """Inside the pass's transaction: each crossing above the threshold moves the state (a
    conditional UPDATE, so it happens once) and is an alert; falling back to or below it re-arms."""
    out = []
    FailureRateState.objects.bulk_create(
        [FailureRateState(rule_id=rule_id, plan_id=plan_id) for rule_id, plan_id in rates], ignore_conflicts=True)
    for (rule_id, plan_id), (runs, failed) in rates.items():
        rule = rules[rule_id]
        rate = failed / runs if runs else 0.0
        state = FailureRateState.objects.filter(rule_id=rule_id, plan_id=plan_id)
        if rate > rule.threshold:
            if state.filter(above=False).update(above=True, crossings=F("crossings") + 1):
                crossing = state.values_list("crossings", flat=True).get()
                window = {"planId": plan_id, "windowMinutes": rule.window_minutes, "runs": runs, "failed": failed,
                          "rate": round(rate, 4), "crossing": crossing}
                out.append(_Candidate(rule, subject_key(plan_id, crossing), event_payload(rule=rule, window=window)))
        else:
            state.filter(above=True).update(above=False)
    return out


def _write(candidates: list[_Candidate]) -> list[AlertEvent]:
    """New events and their deliveries; candidates already recorded are left as they are."""
    by_key = {(c.rule.pk, c.subject): c for c in candidates}
    existing = set()
    keys = list(by_key)
    for i in range(0, len(keys), 400):
        chunk = keys[i:i + 400]
        rows = AlertEvent.objects.filter(rule_id__in={k[0] for k in chunk}, subject_key__in={k[1] for k in chunk})
        existing.update(rows.values_list("rule_id", "subject_key"))
    fresh = [c for key, c in by_key.items() if key not in existing]
    if not fresh:
        return []
    at = now()
    # ignore_conflicts: the unique key is the last word, even against a writer this pass cannot see.
    AlertEvent.objects.bulk_create(
        [AlertEvent(rule=c.rule, subject_key=c.subject, payload=c.payload, created_at=at) for c in fresh],
        ignore_conflicts=True)
    events = []
    for i in range(0, len(fresh), 400):
        chunk = fresh[i:i + 400]
        wanted = {(c.rule.pk, c.subject) for c in chunk}
        events += [e for e in AlertEvent.objects.filter(
            rule_id__in={k[0] for k in wanted}, subject_key__in={k[1] for k in wanted},
        ).select_related("rule") if (e.rule_id, e.subject_key) in wanted]
    Delivery.objects.bulk_create(
        [Delivery(event=e, channel_id=e.rule.channel_id, next_attempt_at=at) for e in events], ignore_conflicts=True)
    for rule_id in {e.rule_id for e in events}:
        AlertRule.objects.filter(pk=rule_id).update(last_fired_at=at)
    return events


def _tasks(executions: list[dict], qc: list[float], attempts: list[float],
           read_at: dict[str, int]) -> dict[str, list[dict]]:
    if not executions or not (qc or attempts):
        return {}
    rows = _read("alerts/execution_tasks", {
        # -1: every task execution (none read yet, or its version unknown).
        "executions": [{"id": e["executionId"], "since": read_at.get(e["executionId"], -1)} for e in executions],
        # The loosest threshold of each kind: Python applies each rule's own to what comes back.
        "qcBelow": max(qc) if qc else None, "attemptsAbove": int(min(attempts)) if attempts else None,
    }, ("executionId", "taskId", "taskTitle", "attemptCount", "lowestQcScore", "status"))
    tasks_of: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        tasks_of[row.pop("executionId")].append(row)
    return tasks_of


def detect(*, worker: str, memo: DetectionMemo | None = None, limit: int = PASS_LIMIT) -> DetectReport:
    """One detection pass. Answers what it read and created; `ran` is False when another worker
    holds the detection lease (it then runs the pass) or no rule is enabled. `memo`: what this
    worker's earlier passes evaluated (none: evaluate everything read)."""
    report = DetectReport()
    memo = memo or DetectionMemo()
    rules = list(AlertRule.objects.filter(enabled=True).select_related("channel"))
    if not rules or not _lease_take(worker):
        return report
    rules_key = tuple(sorted((r.pk, r.kind, r.plan_id, r.threshold, r.window_minutes, r.created_at) for r in rules))
    if memo.rules_key != rules_key:
        memo.rules_key, memo.seen, memo.tasks_read_at = rules_key, {}, {}
    try:
        state = DetectorState.objects.get(pk=_STATE_ID)
        now_ms = clock.now_ms()
        overlap = settings.ALERT_DETECT_OVERLAP_SECONDS * 1000
        stale_ms = settings.EXECUTION_STALE_AFTER_SECONDS * 1000
        first_rule = min(_ms(r.created_at) for r in rules)
        kinds = {r.kind for r in rules}
        qc = [r.threshold for r in rules if r.kind == "qc_score_below"]
        attempts = [r.threshold for r in rules if r.kind == "attempts_above"]

        since = state.changed_since_ms if state.changed_since_ms is not None else first_rule - overlap
        changed = _read("alerts/changed_executions", {"since": since, "afterId": state.changed_after_id,
                                                      "limit": limit}, _EXECUTION_COLUMNS)
        if len(changed) == limit:  # more to read: the next pass goes on from the last row
            next_changed = (changed[-1]["lastEventAt"], changed[-1]["executionId"])
        else:
            # Back by the overlap, even behind where this pass began: a write stamped earlier may
            # still be committing (re-reading is harmless, an event is unique).
            next_changed = (now_ms - overlap, "")

        # Without a stale rule the cursor still moves: a rule made later looks from its creation on.
        cutoff = now_ms - stale_ms
        stale_rows, next_stale = [], (cutoff, "")
        if "execution_stale" in kinds:
            stale_since = state.stale_since_ms if state.stale_since_ms is not None else first_rule - stale_ms
            stale_rows = _read("alerts/stale_executions", {
                "since": stale_since, "afterId": state.stale_after_id, "cutoff": cutoff, "limit": limit,
            }, _EXECUTION_COLUMNS)
            if len(stale_rows) == limit:
                next_stale = (stale_rows[-1]["lastEventAt"], stale_rows[-1]["executionId"])
            else:
                next_stale = (max(stale_since, cutoff), "")

        report.executions_read, report.stale_read = len(changed), len(stale_rows)
        report.backlog = len(changed) == limit or len(stale_rows) == limit
        fresh = [e for e in changed if memo.seen.get(e["executionId"]) != e["lastEventAt"]]
        report.executions_evaluated = len(fresh)
        changed_plans = {e["planId"] for e in fresh if e["planId"] is not None}
        candidates = _execution_candidates([r for r in rules if r.kind in (*_EXECUTION_KINDS, *_TASK_KINDS)], fresh,
                                           _tasks(fresh, qc, attempts, memo.tasks_read_at))
        candidates += _stale_candidates([r for r in rules if r.kind == "execution_stale"], stale_rows, stale_ms)
        rate_rules = [r for r in rules if r.kind == "failure_rate_above"]
        rates = _failure_rates(rate_rules, changed_plans, now_ms)

        with transaction.atomic():
            # Still ours? A pass slower than its lease may have been overtaken: it then writes nothing.
            if not DetectorState.objects.select_for_update().filter(pk=_STATE_ID, leased_by=worker).exists():
                log.warning("alert detection: lease lost during the pass; its results are dropped")
                return report
            candidates += _failure_rate_transitions({r.pk: r for r in rate_rules}, rates)
            events = _write(candidates)
            DetectorState.objects.filter(pk=_STATE_ID).update(
                changed_since_ms=next_changed[0], changed_after_id=next_changed[1],
                stale_since_ms=next_stale[0], stale_after_id=next_stale[1] or "", last_pass_at=now(),
            )
        memo.seen.update((e["executionId"], e["lastEventAt"]) for e in fresh)
        memo.tasks_read_at.update((e["executionId"], e["version"]) for e in fresh if e["version"] is not None)
        # What the next pass cannot read again needs no remembering.
        memo.seen = {eid: at for eid, at in memo.seen.items() if at >= next_changed[0]}
        memo.tasks_read_at = {eid: v for eid, v in memo.tasks_read_at.items() if eid in memo.seen}
        report.ran, report.created = True, len(events)
        for e in events:
            report.kinds[e.rule.kind] = report.kinds.get(e.rule.kind, 0) + 1
        return report
    finally:
        _lease_release(worker)
