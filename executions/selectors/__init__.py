"""Reads from the graph of record, one module per subject: `executions` (the list, the live page,
a task's attempts), `compare` (two executions side by side), `plans`, `failure_report`, `retention`
(the pruned watermark). Views and
API handlers call these; presentation (timeline geometry, charts, diffs, markdown) is done by
`charts` and `rendering`, not here.

The selectors are re-exported here, so that callers write `selectors.execution_list(...)`.
"""

from ..graph import is_up as database_is_up
from .compare import CHANGES as COMPARE_CHANGES
from .compare import compare_outputs, execution_compare
from .executions import (
    attempt_text,
    execution_changes,
    execution_detail,
    execution_get,
    execution_list,
    execution_page,
    execution_version,
    task_detail,
    with_derived,
)
from .failure_report import failure_report, failure_rows, report_trend_buckets
from .plans import HISTORY_DEFAULT_RUNS, HISTORY_MAX_RUNS, plan_detail, plan_list, plan_options, task_history
from .retention import details_pruned_before, pruned_before

__all__ = [
    "COMPARE_CHANGES",
    "HISTORY_DEFAULT_RUNS",
    "HISTORY_MAX_RUNS",
    "attempt_text",
    "compare_outputs",
    "database_is_up",
    "details_pruned_before",
    "execution_changes",
    "execution_compare",
    "execution_detail",
    "execution_get",
    "execution_list",
    "execution_page",
    "execution_version",
    "failure_report",
    "failure_rows",
    "plan_detail",
    "plan_list",
    "plan_options",
    "pruned_before",
    "report_trend_buckets",
    "task_detail",
    "task_history",
    "with_derived",
]
