import io

from django.core.management.base import BaseCommand
from neomodel import db

from executions.models import COMPOSITE_KEYS, GRAPH_MODELS, RETIRED_KEYS

RETIRED_INDEXES = ("attempt_number", "index_TaskExecution_taskId", "index_TaskExecution_status",
                   "index_TaskExecution_timestamp", "execution_started")


def _quoted(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


class Command(BaseCommand):
    help = "Install the graph's uniqueness constraints and indexes in Neo4j (safe to run again)."

    def handle(self, *args, **options):
        for model in GRAPH_MODELS:
            # neomodel writes each "equivalent rule already exists" answer out even when quiet: on a
            # second run that is every rule, and expected. Real failures still raise.
            db.install_labels(model, quiet=True, stdout=io.StringIO())
        # Keys of older versions first: a retired unique key would refuse two task executions that
        # the pair keys tell apart.
        for label, prop in RETIRED_KEYS:
            rows, _ = db.cypher_query(
                "SHOW CONSTRAINTS YIELD name, labelsOrTypes, properties "
                "WHERE labelsOrTypes = [$label] AND properties = [$prop] RETURN name",
                {"label": label, "prop": prop},
            )
            for (name,) in rows:
                db.cypher_query(f"DROP CONSTRAINT {_quoted(name)} IF EXISTS")
        for name, (label, props) in COMPOSITE_KEYS.items():
            keys = ", ".join(f"n.{p}" for p in props)
            db.cypher_query(f"CREATE CONSTRAINT {name} IF NOT EXISTS FOR (n:{label}) REQUIRE ({keys}) IS UNIQUE")
        # Beyond neomodel's per-property indexes: status and startTime together.
        db.cypher_query(
            "CREATE INDEX execution_status_start IF NOT EXISTS"
            " FOR (e:OrchestrationExecution) ON (e.status, e.startTime)"
        )
        # The failure report: a plan's executions of one day (a shown group's examples), and the
        # rollup rows of a range of days across plans.
        db.cypher_query(
            "CREATE INDEX execution_plan_first_known IF NOT EXISTS"
            " FOR (e:OrchestrationExecution) ON (e.planId, e.firstKnownAt)"
        )
        for label in ("ReportDay", "ReportTaskDay", "ReportErrorDay", "ReportQcDay"):
            db.cypher_query(f"CREATE INDEX {label.lower()}_day IF NOT EXISTS FOR (r:{label}) ON (r.day)")
        # A shown group's examples: one seek per rollup row, newest first (timestamp last, so the
        # index gives the order). Only task executions with every property are indexed, i.e. the
        # failed, retried or QC-failed ones (TaskExecution.report*).
        for name, props in (
            ("task_report_task", ("reportPlanKey", "taskId", "reportLink", "reportDay", "timestamp")),
            ("task_report_plan", ("reportPlanKey", "reportLink", "reportDay", "timestamp")),
            ("task_report_error", ("reportErrorKey", "reportPlanKey", "reportDay", "timestamp")),
            ("task_report_qc", ("reportPlanKey", "reportQcFailed", "reportDay", "timestamp")),
        ):
            keys = ", ".join(f"t.{p}" for p in props)
            db.cypher_query(f"CREATE INDEX {name} IF NOT EXISTS FOR (t:TaskExecution) ON ({keys})")
        # The examples read executions of a rollup row by this index before task executions carried
        # their row keys.
        db.cypher_query("DROP INDEX execution_rolled_row IF EXISTS")
        # A retried group's max attempts: its own rows of the range (plan and task first, then days).
        db.cypher_query(
            "CREATE INDEX reportretryday_task_day IF NOT EXISTS"
            " FOR (r:ReportRetryDay) ON (r.planKey, r.taskId, r.day)"
        )
        # A plan's runs by start: the execution page's "previous run of this plan" is one seek.
        db.cypher_query(
            "CREATE INDEX execution_plan_start IF NOT EXISTS"
            " FOR (e:OrchestrationExecution) ON (e.planId, e.startTime)"
        )
        # Indexes of older versions that no statement reads by: every write paid for them, and the
        # planner sought the write's attempt by its number (every first attempt in the graph) or a
        # task execution by its task id (one per run of the plan) instead of by their keys. (The
        # list walks firstKnownAt, not `started`.)
        for name in RETIRED_INDEXES:
            db.cypher_query(f"DROP INDEX {name} IF EXISTS")
        constraints = len(db.list_constraints())
        indexes = len(db.list_indexes(exclude_token_lookup=True))
        self.stdout.write(f"schema installed: {constraints} constraints, {indexes} indexes")
