"""Scripts a demo execution: which tasks run in which stage, and what every attempt produces (output,
tokens, tool calls, QC verdict or error).

Pure and deterministic: every choice comes from the `random.Random` passed in, so a seeded simulator
tells the same story twice. When posts happen (and so durations and timestamps) is the player's
business, not the script's.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Any

from .loader import DemoPlan

# How often things go wrong. Plans scale the failure rates by their `simulation.flakiness`.
CANCEL_RATE = 0.07  # the orchestrator is stopped midway
STALL_RATE = 0.06  # goes quiet for a while between two stages (live runs only)
QC_REJECT_RATE = 0.15  # an agent's first attempt fails QC
QC_STILL_OPEN_RATE = 0.1  # a required fix is not (fully) addressed by the retry
QC_REGRESSION_RATE = 0.04  # the retry breaks something that was fine before
AGENT_ERROR_RATE = 0.015  # an attempt dies with an error (timeout, HTTP 5xx, ...) and the task fails for good
TRANSFORMER_ERROR_RATE = 0.005
REPLAY_RATE = 0.06  # a result is posted twice, as a client retrying after a lost answer would

# Errors any plan may hit, next to each plan's own (`simulation.errors`).
COMMON_ERRORS = [
    {"message": "Model API error: 502 Bad Gateway from https://llm.example.com/v1/chat/completions"
                " (request id req_{hex:12})", "weight": 1},
    {"message": "Tool call web_search failed: HTTP 429 Too Many Requests (retry after {int:5-60}s)", "weight": 1},
]

OWNERS = ["@amara", "@bruno", "@chen", "@dalia", "@emeka", "@freya", "@goran", "@hiro", "@ines", "@jonas"]


# ---------------------------------------------------------------- templates

_FILLER = re.compile(r"\{(int|hex|pick):([^{}]*)\}")


def fill(*, template: str, rng: random.Random) -> str:
    """Expand `{int:LO-HI}`, `{hex:N}` and `{pick:a|b}`; other braces (PromQL, JSON) are left alone."""

    def expand(match: re.Match[str]) -> str:
        kind, argument = match.groups()
        if kind == "int":
            low, high = argument.split("-")
            return str(rng.randint(int(low), int(high)))
        if kind == "hex":
            return "".join(rng.choice("0123456789abcdef") for _ in range(int(argument)))
        return rng.choice(argument.split("|"))

    return _FILLER.sub(expand, template)


# ---------------------------------------------------------------- QC defects

@dataclass(frozen=True)
class Defect:
    """Something QC can reject an output for, and what fixing it means (so retries visibly differ)."""

    key: str
    issue: str
    fix: str


DEFECTS = {
    d.key: d
    for d in [
        Defect("unquantified", "Findings state conclusions without the numbers behind them",
               "Quantify every finding with the measurement it rests on"),
        Defect("no-evidence", "No evidence is attached: the findings cannot be checked",
               "Attach the query, command or log excerpt the findings come from"),
        Defect("no-owners", "Recommendations have no owner and no due date",
               "Give each recommendation an owner and a due date"),
        Defect("criterion-missed", "Verification criterion not addressed: \"{criterion}\"",
               "Address \"{criterion}\" explicitly"),
        Defect("no-risks", "Risks and mitigations are not discussed",
               "Add a risks section with a mitigation for each risk"),
        Defect("rambling-summary", "The summary is padded and buries the main point",
               "Cut the summary to the scope, the headline finding and the next step"),
    ]
}


# ---------------------------------------------------------------- script shapes

@dataclass(frozen=True)
class Attempt:
    number: int
    # The `result` body of a task-result post, without `duration` and `timestamp` (the player's).
    result: dict[str, Any]
    work_ms: int  # how long the attempt works, at speed 1
    replay: bool  # post it twice: the API must answer the second post with `replayed: true`

    @property
    def succeeded(self) -> bool:
        return self.result["status"] == "success"


@dataclass(frozen=True)
class TaskRun:
    task: dict[str, Any]
    attempts: tuple[Attempt, ...]
    headline: str  # one line a downstream transformer quotes

    @property
    def succeeded(self) -> bool:
        return self.attempts[-1].succeeded


@dataclass(frozen=True)
class ExecutionScript:
    plan: DemoPlan
    stages: tuple[tuple[TaskRun, ...], ...]  # only the stages that run; a failure or cancel ends early
    cancelled: bool
    stall_after_stage: int | None  # the execution goes quiet after this stage ...
    stall_ms: int  # ... for this long (at speed 1)

    @property
    def task_runs(self) -> list[TaskRun]:
        return [run for stage in self.stages for run in stage]

    @property
    def retries(self) -> int:
        return sum(len(run.attempts) - 1 for run in self.task_runs)


# ---------------------------------------------------------------- stages

def plan_stages(*, tasks: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Order tasks into stages that honour dependencies: the ready members of the lowest parallel
    group run together; a ready task outside any group runs on its own."""
    done: set[str] = set()
    remaining = list(tasks)
    stages = []
    while remaining:
        ready = [t for t in remaining if set(t.get("dependencies") or []) <= done]
        if not ready:
            stuck = ", ".join(t["id"] for t in remaining)
            raise ValueError(f"dependency cycle or unknown dependency among: {stuck}")
        grouped = [t for t in ready if t.get("parallelGroup") is not None]
        if grouped:
            group = min(t["parallelGroup"] for t in grouped)
            stage = [t for t in grouped if t["parallelGroup"] == group]
        else:
            stage = ready[:1]
        stages.append(stage)
        done.update(t["id"] for t in stage)
        remaining = [t for t in remaining if t["id"] not in done]
    return stages


# ---------------------------------------------------------------- executions

def script_execution(
    *, plan: DemoPlan, rng: random.Random, age_days: float = 0.0, may_stall: bool = True
) -> ExecutionScript:
    """One execution of `plan`. `age_days` (how long ago it started) picks errors that trend."""
    stages = plan_stages(tasks=plan.tasks)
    cancel_after = rng.randrange(len(stages) - 1) if len(stages) > 1 and rng.random() < CANCEL_RATE else None
    can_stall = may_stall and len(stages) > 1
    stall_after = rng.randrange(len(stages) - 1) if can_stall and rng.random() < STALL_RATE else None
    stall_ms = rng.randint(45_000, 180_000)
    subject = fill(template=plan.simulation.get("subject", plan.title), rng=rng)
    runs: dict[str, TaskRun] = {}
    played: list[tuple[TaskRun, ...]] = []
    for index, stage in enumerate(stages):
        stage_runs = tuple(
            _script_task(plan=plan, task=task, subject=subject, upstream=runs, age_days=age_days,
                         rng=random.Random(rng.getrandbits(64)))
            for task in stage
        )
        runs.update((run.task["id"], run) for run in stage_runs)
        played.append(stage_runs)
        # The orchestrator stops at a task that failed for good: its dependents cannot run.
        if not all(run.succeeded for run in stage_runs) or index == cancel_after:
            break
    failed = not all(run.succeeded for run in played[-1])
    return ExecutionScript(
        plan=plan,
        stages=tuple(played),
        cancelled=cancel_after == len(played) - 1 and not failed,
        stall_after_stage=stall_after if stall_after is not None and stall_after < len(played) - 1 else None,
        stall_ms=stall_ms,
    )


def _script_task(
    *, plan: DemoPlan, task: dict[str, Any], subject: str, upstream: dict[str, TaskRun], age_days: float,
    rng: random.Random,
) -> TaskRun:
    if task.get("taskType") == "transformer":
        return _script_transformer(plan=plan, task=task, upstream=upstream, age_days=age_days, rng=rng)
    return _script_agent(plan=plan, task=task, subject=subject, upstream=upstream, age_days=age_days, rng=rng)


def _script_transformer(
    *, plan: DemoPlan, task: dict[str, Any], upstream: dict[str, TaskRun], age_days: float, rng: random.Random
) -> TaskRun:
    sources = [upstream[dep] for dep in task.get("dependencies", [])]
    work_ms = rng.randint(200, 900)
    if rng.random() < TRANSFORMER_ERROR_RATE * _flakiness(plan):
        result = {"taskId": task["id"], "status": "failure", "output": "", "attemptNumber": 1,
                  "error": _pick_error(plan=plan, age_days=age_days, rng=rng),
                  "tokens": {"input": 0, "output": 0}, "toolCalls": 0}
    else:
        result = {"taskId": task["id"], "status": "success", "attemptNumber": 1,
                  "output": _render_digest(task=task, sources=sources),
                  "tokens": {"input": 0, "output": 0}, "toolCalls": 0}
    attempt = Attempt(number=1, result=result, work_ms=work_ms, replay=rng.random() < REPLAY_RATE)
    return TaskRun(task=task, attempts=(attempt,), headline=f"{task['title']}: merged {len(sources)} reports")


def _script_agent(
    *, plan: DemoPlan, task: dict[str, Any], subject: str, upstream: dict[str, TaskRun], age_days: float,
    rng: random.Random,
) -> TaskRun:
    """Attempts until QC passes, the retries run out, or an error ends the task."""
    draft = _draft(plan=plan, task=task, subject=subject, rng=rng)
    context = sum(len(upstream[d].attempts[-1].result.get("output", "")) // 4 for d in task.get("dependencies", []))
    max_attempts = 1 + int(task.get("maxRetries") or 0)
    has_qc = bool(task.get("qcRole"))
    defects = _first_defects(rng=rng) if has_qc and rng.random() < QC_REJECT_RATE * _flakiness(plan) else []
    fixed: list[Defect] = []
    verdicts: list[dict[str, Any]] = []
    attempts: list[Attempt] = []
    for number in range(1, max_attempts + 1):
        prompt = _retry_prompt(task=task, verdict=verdicts[-1]) if verdicts else task.get("prompt")
        result: dict[str, Any] = {"taskId": task["id"], "attemptNumber": number, "prompt": prompt,
                                  "agentRoleDescription": task.get("agentRoleDescription")}
        if verdicts:
            result["qcVerificationHistory"] = list(verdicts)
        given = (len(prompt or "") + len(task.get("agentRoleDescription") or "")) // 4 + context  # tokens in
        work_ms = int(rng.randint(2_500, 9_000) * (1 + int(task.get("estimatedToolCalls") or 0) / 20))
        if rng.random() < AGENT_ERROR_RATE * _flakiness(plan):
            result |= _errored(task=task, draft=draft, plan=plan, age_days=age_days, given=given, rng=rng)
            attempts.append(Attempt(number, result, work_ms, rng.random() < REPLAY_RATE))
            break
        result |= _worked(task=task, draft=draft, defects=defects, fixed=fixed, attempt=number, given=given, rng=rng)
        if has_qc:
            verdicts.append(_qc_verdict(draft=draft, defects=defects, rng=rng))
            result["qcVerification"] = verdicts[-1]
            if len(verdicts) > 1:
                result["qcVerificationHistory"] = list(verdicts)
        result["status"] = "failure" if defects else "success"
        if defects and number == max_attempts:
            result["error"] = f"QC rejected the output after {number} attempts (last score {verdicts[-1]['score']}/100)"
        attempts.append(Attempt(number, result, work_ms, rng.random() < REPLAY_RATE))
        if not defects:
            break
        defects, fixed = _retry_defects(defects=defects, rng=rng)
    return TaskRun(task=task, attempts=tuple(attempts), headline=draft.findings[0][0])


def _worked(
    *, task: dict[str, Any], draft: _Draft, defects: list[Defect], fixed: list[Defect], attempt: int, given: int,
    rng: random.Random,
) -> dict[str, Any]:
    output = _render_output(draft=draft, defects=defects, fixed=fixed, attempt=attempt)
    tool_calls = max(0, int(task.get("estimatedToolCalls") or 0) + rng.randint(-2, 3))
    return {"output": output, "toolCalls": tool_calls,
            "tokens": _tokens(given=given, output=output, tool_calls=tool_calls, rng=rng)}


def _errored(
    *, task: dict[str, Any], draft: _Draft, plan: DemoPlan, age_days: float, given: int, rng: random.Random
) -> dict[str, Any]:
    tool_calls = rng.randint(0, int(task.get("estimatedToolCalls") or 1))
    return {"status": "failure", "output": _render_partial(draft=draft), "toolCalls": tool_calls,
            "error": _pick_error(plan=plan, age_days=age_days, rng=rng),
            "tokens": _tokens(given=given, output="", tool_calls=tool_calls, rng=rng)}


def _flakiness(plan: DemoPlan) -> float:
    return float(plan.simulation.get("flakiness", 1.0))


def _pick_error(*, plan: DemoPlan, age_days: float, rng: random.Random) -> str:
    """An error message; some only occur recently (a regression) or only long ago (since fixed), so
    the failure report shows trends."""
    candidates = [
        e for e in [*plan.simulation.get("errors", []), *COMMON_ERRORS]
        if age_days <= e.get("withinDays", float("inf")) and age_days >= e.get("olderThanDays", 0)
    ]
    chosen = rng.choices(candidates, weights=[e.get("weight", 1) for e in candidates])[0]
    return fill(template=chosen["message"], rng=rng)


def _tokens(*, given: int, output: str, tool_calls: int, rng: random.Random) -> dict[str, int]:
    # A preamble with tool schemas joins what the task is given (role, prompt, upstream outputs),
    # and every tool call sends the growing conversation again; reasoning adds to what comes out.
    return {"input": int((1_800 + given) * (1 + 0.6 * tool_calls) * rng.uniform(1.0, 1.3)),
            "output": int(max(len(output) // 4, rng.randint(40, 300)) * rng.uniform(1.05, 1.4))}


# ---------------------------------------------------------------- QC

def _first_defects(*, rng: random.Random) -> list[Defect]:
    return rng.sample(list(DEFECTS.values()), k=rng.choice([1, 1, 2, 2, 3]))


def _retry_defects(*, defects: list[Defect], rng: random.Random) -> tuple[list[Defect], list[Defect]]:
    """What the next attempt still gets wrong, and what it fixed. At least one fix always lands."""
    still_open = [d for d in defects[1:] if rng.random() < QC_STILL_OPEN_RATE]
    fixed = [d for d in defects if d not in still_open]
    untouched = [d for d in DEFECTS.values() if d not in defects]
    if untouched and rng.random() < QC_REGRESSION_RATE:
        still_open.append(rng.choice(untouched))
    return still_open, fixed


def _qc_verdict(*, draft: _Draft, defects: list[Defect], rng: random.Random) -> dict[str, Any]:
    if not defects:
        met = len(draft.criteria)
        notes = [] if rng.random() < 0.7 else [f"Minor: {rng.choice(_MINOR_NOTES)}"]
        return {"passed": True, "score": rng.randint(80, 97),
                "feedback": f"Meets all {met} verification criteria. {rng.choice(_PRAISE)}",
                "issues": notes, "requiredFixes": []}
    issues = [draft.defect_text(d.issue) for d in defects]
    return {"passed": False, "score": max(18, 80 - 15 * len(defects) - rng.randint(0, 12)),
            "feedback": f"Rejected: {len(defects)} blocking issue(s). {issues[0]}.",
            "issues": issues, "requiredFixes": [draft.defect_text(d.fix) for d in defects]}


_PRAISE = [
    "Findings are specific and each is backed by evidence.",
    "Clear structure; recommendations follow from the findings.",
    "Numbers reconcile with the sources cited.",
    "Concise and actionable.",
]
_MINOR_NOTES = [
    "one recommendation could name the metric that shows it worked",
    "the evidence excerpt could be shortened",
    "consider linking the upstream report for the second finding",
]


def _retry_prompt(*, task: dict[str, Any], verdict: dict[str, Any]) -> str:
    # The worker is told what QC asked for, so the prompt diff between attempts shows it too.
    fixes = "\n".join(f"- {fix}" for fix in verdict["requiredFixes"])
    return (f"{task.get('prompt', '')}\n\n---\nYour previous attempt was rejected by QC "
            f"(score {verdict['score']}/100): {verdict['feedback']}\nFix the following before resubmitting:\n{fixes}")


# ---------------------------------------------------------------- writing outputs

@dataclass
class _Draft:
    """The content of one task's report, fixed across its attempts so that attempt diffs show only
    what QC asked to change."""

    title: str
    subject: str
    findings: list[tuple[str, str]]  # (claim, measurement)
    recommendations: list[tuple[str, str, int]]  # (action, owner, due in days)
    risks: list[tuple[str, str]]  # (risk, mitigation)
    evidence: dict[str, str]  # language, code
    criteria: list[str]
    missed_criterion: str
    padding: list[str] = field(default_factory=list)

    def defect_text(self, text: str) -> str:
        return text.replace("{criterion}", self.missed_criterion)


def _draft(*, plan: DemoPlan, task: dict[str, Any], subject: str, rng: random.Random) -> _Draft:
    simulation = plan.simulation
    findings = []
    for template in rng.sample(simulation["findings"], k=min(len(simulation["findings"]), rng.randint(4, 6))):
        claim, _, measurement = fill(template=template, rng=rng).partition(" — ")
        findings.append((claim, measurement))
    offered = simulation["recommendations"]
    recommendations = [(text, rng.choice(OWNERS), rng.choice([7, 14, 14, 30]))
                       for text in rng.sample(offered, k=min(3, len(offered)))]
    risks = [tuple(r.split(" | ", 1)) for r in rng.sample(simulation["risks"], k=min(2, len(simulation["risks"])))]
    snippet = rng.choice(simulation["evidence"])
    criteria = task.get("verificationCriteria") or ["The output answers the prompt"]
    if isinstance(criteria, str):
        criteria = [criteria]
    return _Draft(
        title=task["title"], subject=subject, findings=findings, recommendations=recommendations, risks=risks,
        evidence={"language": snippet["language"], "code": fill(template="\n".join(snippet["code"]), rng=rng)},
        criteria=list(criteria), missed_criterion=rng.choice(criteria),
        padding=rng.sample(_PADDING, k=3),
    )


_PADDING = [
    "This review was carried out with the tools and data available at the time.",
    "The scope was agreed with the stakeholders named in the plan.",
    "Some of the observations below may need confirmation in a later phase.",
    "Several sources were consulted, and where they disagreed the more recent one was preferred.",
    "The format of this report follows the team's usual template.",
]


def _render_output(*, draft: _Draft, defects: list[Defect], fixed: list[Defect], attempt: int) -> str:
    keys = {d.key for d in defects}
    lines = [f"# {draft.title}", "", f"**Scope:** {draft.subject}", "", "## Summary", ""]
    summary = (f"{len(draft.findings)} findings stand out; the most important: {_lower_first(draft.findings[0][0])}. "
               f"Next step: {_lower_first(draft.recommendations[0][0])}.")
    lines.append(" ".join([*draft.padding, summary]) if "rambling-summary" in keys else summary)
    lines += ["", "## Findings", ""]
    for number, (claim, measurement) in enumerate(draft.findings, start=1):
        quantified = measurement and "unquantified" not in keys
        lines.append(f"{number}. **{claim}**" + (f" — {measurement}" if quantified else ""))
    if "no-evidence" not in keys:
        lines += ["", "## Evidence", "", f"```{draft.evidence['language']}", draft.evidence["code"], "```"]
    lines += ["", "## Recommendations", ""]
    for action, owner, days in draft.recommendations:
        lines.append(f"- {action}" + ("" if "no-owners" in keys else f" (owner: {owner}, due in {days} days)"))
    if "no-risks" not in keys:
        lines += ["", "## Risks", "", "| Risk | Mitigation |", "| --- | --- |"]
        lines += [f"| {risk} | {mitigation} |" for risk, mitigation in draft.risks]
    lines += ["", "## Verification", ""]
    for number, criterion in enumerate(draft.criteria, start=1):
        if "criterion-missed" in keys and criterion == draft.missed_criterion:
            lines.append(f"- [ ] {criterion}")
        else:
            lines.append(f"- [x] {criterion} (see finding {min(number, len(draft.findings))})")
    if attempt > 1:
        lines += ["", f"## Changes in attempt {attempt}", ""]
        lines += [f"- Addressed QC: {draft.defect_text(d.fix)}" for d in fixed]
    return "\n".join(lines) + "\n"


def _lower_first(text: str) -> str:
    # "Three tests fail" reads "three tests fail" mid-sentence; "API latency" keeps its acronym.
    return text[0].lower() + text[1:] if len(text) > 1 and text[1].islower() else text


def _render_partial(*, draft: _Draft) -> str:
    claim = draft.findings[0][0]
    return "\n".join([f"# {draft.title}", "", "_Stopped before completion._", "", "## Progress so far", "",
                      "- Gathered the inputs listed in the prompt", f"- First observation: {claim}", ""])


def _render_digest(*, task: dict[str, Any], sources: list[TaskRun]) -> str:
    lines = [f"# {task['title']}", "", f"Merged {len(sources)} upstream reports.", "",
             "| Task | Status | Attempts | QC score |", "| --- | --- | --- | --- |"]
    for run in sources:
        last = run.attempts[-1].result
        score = (last.get("qcVerification") or {}).get("score", "n/a")
        lines.append(f"| {run.task['title']} | {last['status']} | {len(run.attempts)} | {score} |")
    lines += ["", "## Highlights", ""] + [f"- {run.headline}" for run in sources]
    return "\n".join(lines) + "\n"
