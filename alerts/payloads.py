"""What an alert says: the event's payload (fixed when detected) and each channel's body."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from django.conf import settings

from executions import clock

SCHEMA_VERSION = 1
_EXECUTION_FIELDS = ("executionId", "planId", "status", "startTime", "endTime", "tasksTotal",
                     "tasksFailed", "reworkTokens", "lastEventAt")
_SUMMARY = {
    "execution_failed": "Execution {executionId} failed",
    "execution_cancelled": "Execution {executionId} was cancelled",
    "execution_stale": "Execution {executionId} is stale: no news since {lastEventAt}",
    "qc_score_below": "Task {taskId} of execution {executionId} scored {lowestQcScore} in QC (below {threshold})",
    "attempts_above": "Task {taskId} of execution {executionId} needed {attemptCount} attempts (more than {threshold})",
    "rework_tokens_above": "Execution {executionId} spent {reworkTokens} tokens on failed attempts "
                           "(more than {threshold})",
    "channel_test": "A test from the Mimir dashboard: this channel works",
    "failure_rate_above": "Plan {planId}: {failed} of {runs} executions failed in the last {windowMinutes} min "
                          "(rate {rate:.2f} above {threshold})",
}


def _segment(value: str) -> str:
    return quote(value, safe="")


def link(*, execution_id: str | None = None, task_id: str | None = None, plan_id: str | None = None) -> str:
    base = settings.ALERT_DASHBOARD_URL
    if execution_id is not None and task_id is not None:
        return f"{base}/executions/{_segment(execution_id)}/tasks/{_segment(task_id)}"
    if execution_id is not None:
        return f"{base}/executions/{_segment(execution_id)}"
    return f"{base}/plans/{_segment(plan_id or '')}"


def threshold_shown(value: float | None) -> float | int | None:
    return int(value) if value is not None and value == int(value) else value


def rule_json(rule) -> dict[str, Any]:
    return {"id": rule.pk, "kind": rule.kind, "planId": rule.plan_id, "threshold": threshold_shown(rule.threshold),
            "windowMinutes": rule.window_minutes}


def event_payload(*, rule, execution: dict | None = None, task: dict | None = None,
                  window: dict | None = None) -> dict[str, Any]:
    """The stored part of an alert (the event id and firing time are added when it is sent)."""
    payload: dict[str, Any] = {"kind": rule.kind, "rule": rule_json(rule)}
    if execution is not None:
        payload["execution"] = {f: execution.get(f) for f in _EXECUTION_FIELDS}
        payload["url"] = link(execution_id=execution["executionId"], task_id=task["taskId"] if task else None)
    if task is not None:
        payload["task"] = task
    if window is not None:
        payload["window"] = window
        payload["url"] = link(plan_id=window["planId"])
    return payload


def webhook_body(event) -> dict[str, Any]:
    return {"schemaVersion": SCHEMA_VERSION, "eventId": str(event.event_id), **event.payload,
            "firedAt": event.created_at.isoformat().replace("+00:00", "Z")}


def encode(body: dict[str, Any]) -> bytes:
    # The exact bytes are signed; compact and stable.
    return json.dumps(body, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


def summary(event) -> str:
    p = event.payload
    values = {**(p.get("execution") or {}), **(p.get("task") or {}), **(p.get("window") or {}),
              "threshold": p["rule"]["threshold"]}
    if values.get("lastEventAt") is not None:  # epoch ms in the body; a moment in the text
        values["lastEventAt"] = clock.utc_datetime(values["lastEventAt"]).strftime("%Y-%m-%d %H:%M:%S UTC")
    return _SUMMARY[p["kind"]].format_map(_Missing(values))


class _Missing(dict):
    def __missing__(self, key):
        return "?"


def _slack_escape(text: str) -> str:
    # Slack's mrkdwn needs only these three escaped; ids and titles are untrusted text.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_body(event) -> dict[str, Any]:
    text = _slack_escape(summary(event))
    url = event.payload.get("url", "")
    return {
        "text": text,
        "blocks": [
            {"type": "section",
             "text": {"type": "mrkdwn", "text": f"*Mimir alert* ({event.payload['kind']})\n{text}"}},
            {"type": "context",
             "elements": [{"type": "mrkdwn", "text": f"<{url}|Open in the dashboard> · event {event.event_id}"}]},
        ],
    }


def email_message(event) -> tuple[str, str]:
    """Subject and plain-text body."""
    text = summary(event)
    subject = f"[Mimir] {text}"[:200].replace("\n", " ").replace("\r", " ")
    fired = webhook_body(event)["firedAt"]
    body = f"{text}\n\n{event.payload.get('url', '')}\n\nEvent {event.event_id}, fired {fired}.\n"
    return subject, body
