"""Geometry for the failure-rate trend, drawn server-side as an inline SVG (no chart library).

Only numbers come out of here; the template writes the SVG elements, so every label is escaped.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Any

from . import clock

WIDTH, HEIGHT = 960, 260
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 12, 34
MAX_X_LABELS = 10

SERIES = (
    ("taskFailureRate", "failedTasks", "tasks", "Task executions failed", "series-tasks"),
    ("executionFailureRate", "failedExecutions", "finishedExecutions", "Executions failed", "series-executions"),
)


def _label(ms: int) -> str:
    day = clock.utc_datetime(ms)
    return f"{day:%b} {day.day}"


def trend_chart(trend: list[dict[str, Any]], bucket: str) -> dict[str, Any]:
    """Lines of the task and execution failure rates (0–100 %) per bucket; a bucket with nothing
    finished has no rate and breaks the line instead of drawing a zero."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    n = len(trend)
    step = plot_w / n if n else plot_w

    # Coordinates are strings, so that no template localization can change the decimal point.
    def x(i: int) -> str:
        return f"{LEFT + step * (i + 0.5):.1f}"

    def y(rate: float) -> str:
        return f"{TOP + plot_h * (1 - rate):.1f}"

    series = []
    for rate_key, part_key, whole_key, name, css in SERIES:
        segments: list[list[tuple[str, str]]] = [[]]
        points = []
        for i, b in enumerate(trend):
            rate = b[rate_key]
            if rate is None:
                if segments[-1]:
                    segments.append([])
                continue
            segments[-1].append((x(i), y(rate)))
            points.append({
                "x": x(i), "y": y(rate), "rate": rate, "part": b[part_key], "whole": b[whole_key],
                "label": ("Week of " if bucket == "week" else "") + _label(b["start"]),
            })
        series.append({
            "name": name,
            "css": css,
            "lines": [" ".join(f"{px},{py}" for px, py in seg) for seg in segments if len(seg) > 1],
            "points": points,
        })

    every = max(1, -(-n // MAX_X_LABELS))
    x_labels = [{"x": x(i), "text": _label(b["start"])} for i, b in enumerate(trend) if i % every == 0]
    grid = [{"y": y(r), "text": f"{int(r * 100)}%"} for r in (0, 0.25, 0.5, 0.75, 1)]
    return {
        "width": WIDTH, "height": HEIGHT, "left": LEFT, "axis_x": LEFT - 6, "right": WIDTH - RIGHT,
        "bottom": HEIGHT - BOTTOM, "label_y": HEIGHT - BOTTOM + 18,
        "series": series, "x_labels": x_labels, "grid": grid,
    }


def execution_timeline(execution: dict[str, Any], tasks: list[dict[str, Any]], now: int) -> dict[str, Any]:
    """Gantt bars of an execution's tasks: each from `timestamp − durationMs` to `timestamp`, placed
    as percentages of the run (from its first start to its end, or to `now` while it runs)."""
    spans = []
    for task in tasks:
        end, length = task.get("timestamp"), task.get("durationMs")
        if end is None:
            continue
        spans.append((task, end - (length or 0), end))
    if not spans:
        return {"rows": [], "startMs": execution.get("startTime"), "endMs": execution.get("endTime"), "groups": []}
    lo = min([s for _, s, _ in spans] + ([execution["startTime"]] if execution.get("startTime") else []))
    ends = [e for _, _, e in spans]
    if execution.get("endTime"):
        ends.append(execution["endTime"])
    elif execution.get("status") == "running":
        ends.append(now)
    hi = max(ends)
    width = max(1, hi - lo)
    rows = []
    for task, start, end in sorted(spans, key=lambda s: (s[1], s[2], s[0]["taskId"])):
        left = (start - lo) / width * 100
        rows.append(
            {
                "taskId": task["taskId"],
                "title": task.get("taskTitle") or task["taskId"],
                "status": task.get("status"),
                "parallelGroup": task.get("parallelGroup"),
                "colorIndex": (task.get("parallelGroup") or 0) % 8,
                "startMs": start,
                "endMs": end,
                "durationMs": end - start,
                "left": round(left, 3),
                "width": round(max(0.4, min(100 - left, (end - start) / width * 100)), 3),
            }
        )
    groups = sorted({r["parallelGroup"] for r in rows if r["parallelGroup"] is not None})
    return {"rows": rows, "startMs": lo, "endMs": hi, "groups": groups}


@lru_cache(maxsize=65_536)  # a page asks it of every task two or three times per view
def row_key(task_id: str) -> str:
    """A task's name in the live page's CSS selectors and element ids: its rows, bars and graph
    nodes carry it (`data-row`, `data-bar`, `gn-<key>`), which the poll's out-of-band swaps select
    (a task id may hold any printable text, commas and brackets included, that a selector cannot)."""
    return "k" + hashlib.blake2b(task_id.encode(), digest_size=16).hexdigest()


HISTORY_W, HISTORY_H = 300, 110
HISTORY_LEFT, HISTORY_RIGHT, HISTORY_TOP, HISTORY_BOTTOM = 40, 8, 10, 18


def history_charts(runs: list[dict[str, Any]], metrics: list[dict[str, Any]],
                   label_of: dict[str, Any]) -> list[dict[str, Any]]:
    """One small chart per metric of a task's runs (`runs` newest first, as the selector reads
    them; drawn oldest to newest, left to right): a point per run that has the value, a line
    through consecutive ones, outliers (`run["outliers"]`) as their own shape, the median as a
    dashed line; y from 0 to the largest value. `label_of`: field → a filter formatting its values
    for the points' titles and the axis."""
    plot_w = HISTORY_W - HISTORY_LEFT - HISTORY_RIGHT
    plot_h = HISTORY_H - HISTORY_TOP - HISTORY_BOTTOM
    ordered = list(reversed(runs))
    step = plot_w / len(ordered) if ordered else plot_w
    charts = []
    for metric in metrics:
        field, fmt = metric["field"], label_of[metric["field"]]
        values = [r[field] for r in ordered]
        top = max((v for v in values if v is not None), default=0) or 1

        def y(v: float, top: float = top) -> str:
            return f"{HISTORY_TOP + plot_h * (1 - v / top):.1f}"

        points, segments = [], [[]]
        for i, (run, v) in enumerate(zip(ordered, values, strict=True)):
            if v is None:
                if segments[-1]:
                    segments.append([])
                continue
            x = f"{HISTORY_LEFT + step * (i + 0.5):.1f}"
            segments[-1].append(f"{x},{y(v)}")
            mark = run["outliers"].get(field)
            points.append({"x": x, "y": y(v), "outlier": mark, "executionId": run["executionId"],
                           "text": fmt(v), "box_x": f"{float(x) - 4.5:.1f}", "box_y": f"{float(y(v)) - 4.5:.1f}"})
        median, low, high = metric["median"], metric["low"], metric["high"]
        charts.append({
            "field": field, "label": metric["label"], "width": HISTORY_W, "height": HISTORY_H,
            "left": HISTORY_LEFT, "right": HISTORY_W - HISTORY_RIGHT, "axis_x": HISTORY_LEFT - 4,
            "top_y": f"{HISTORY_TOP:.1f}", "zero_y": f"{HISTORY_TOP + plot_h:.1f}",
            "top_text": fmt(top), "label_y": HISTORY_H - 4,
            "median_y": y(median) if median is not None else None,
            "median_text": fmt(median) if median is not None else None,
            # What counts as usual (values are never negative, whatever the lower fence says).
            "usual_text": f"{fmt(max(0.0, low))} to {fmt(high)}" if low is not None and high is not None else None,
            "lines": [" ".join(seg) for seg in segments if len(seg) > 1],
            "points": points, "outliers": sum(1 for p in points if p["outlier"]),
        })
    return charts
