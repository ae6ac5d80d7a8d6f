"""Writes to the graph of record and to the token table, one module per concern:

- `ingest`: applying telemetry events (one transaction, or one statement, per call);
- `group_commit`: task results posted one per request, written together while a write is in Neo4j;
- `rederive`: recomputing derived facts for a graph written by an older version;
- `rollups`: rebuilding the failure report's rollups from the stored facts;
- `import_mimir`: importing a graph written by Mimir's own persistence module;
- `retention`: pruning old executions in bounded batches (`manage.py prune_executions`, the worker's daily run);
- `tokens`: API tokens, their scopes and limits.

The public services are re-exported here, so that callers write `services.execution_start(...)`.
"""

from .group_commit import GroupCommit, group_commit
from .import_mimir import ImportReport, MimirSource, Repair, mimir_import
from .ingest import (
    BatchItem,
    BatchResult,
    EventResult,
    events_apply,
    execution_finish,
    execution_start,
    plan_upsert,
    task_result_record,
    task_results_write,
    write_params,
)
from .rederive import (
    KeyMigration,
    executions_need_rederive,
    executions_rederive,
    keys_migrate,
    plan_task_models_keep,
)
from .retention import (
    DailyPrune,
    PruneCounts,
    PruneResult,
    PruneStep,
    executions_prune,
    prune_batch,
    prune_count,
    prune_cutoff,
    prune_run_claim,
    prune_run_finish,
    prune_run_start,
)
from .rollups import RollupsRebuild, rollups_rebuild
from .tokens import (
    TokenIdentity,
    ingest_token_authenticate,
    ingest_token_create,
    ingest_token_revoke,
    token_limits_parse,
    token_scopes_parse,
)

__all__ = [
    "DailyPrune",
    "PruneCounts",
    "PruneResult",
    "PruneStep",
    "BatchItem",
    "BatchResult",
    "EventResult",
    "GroupCommit",
    "ImportReport",
    "KeyMigration",
    "MimirSource",
    "Repair",
    "RollupsRebuild",
    "TokenIdentity",
    "events_apply",
    "execution_finish",
    "execution_start",
    "executions_need_rederive",
    "executions_prune",
    "executions_rederive",
    "group_commit",
    "ingest_token_authenticate",
    "ingest_token_create",
    "ingest_token_revoke",
    "keys_migrate",
    "mimir_import",
    "plan_task_models_keep",
    "plan_upsert",
    "rollups_rebuild",
    "prune_batch",
    "prune_count",
    "prune_cutoff",
    "prune_run_claim",
    "prune_run_finish",
    "prune_run_start",
    "task_result_record",
    "task_results_write",
    "write_params",
    "token_limits_parse",
    "token_scopes_parse",
]
