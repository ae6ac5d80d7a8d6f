from django.core.management.base import BaseCommand, CommandError

from executions import services


class Command(BaseCommand):
    help = (
        "Move a graph written by an older version to the current keys (and give attempts the keys of "
        "their QC texts), then recompute every "
        "execution's derived facts (counters, statuses, FAILED_TASK and the failure report's links and "
        "fields) from the stored attempts, and rebuild the failure report's rollups (days from the prune "
        "watermark on). Stop ingest while it runs. Run it once after upgrading a graph "
        "written by an older version; safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=200, help="executions per transaction")
        parser.add_argument(
            "--if-needed", action="store_true", help="do nothing unless some execution lacks the derived facts"
        )

    def handle(self, *args, batch_size: int, if_needed: bool, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1", returncode=2)
        if if_needed and not services.executions_need_rederive():
            self.stdout.write("every execution has its derived facts")
            return
        keys = services.keys_migrate()
        if keys.attempts_migrated or keys.foreign_links_removed:
            self.stdout.write(
                f"keys: {keys.attempts_migrated} attempts given their (executionId, taskId) key; "
                f"{keys.foreign_links_removed} task executions of other executions unlinked"
                + (f" from {', '.join(keys.executions_unlinked)}" if keys.executions_unlinked else "")
            )
        plans = services.plan_task_models_keep()
        if plans:
            self.stdout.write(f"plans: {plans} given the recommended models of their tasks (PlanTask nodes)")
        total = services.executions_rederive(
            batch_size=batch_size,
            progress=lambda n: self.stdout.write(f"{n} executions re-derived") if n % (batch_size * 10) == 0 else None,
        )
        self.stdout.write(f"re-derived {total} executions")
        every = batch_size * 10
        rebuild = services.rollups_rebuild(
            batch_size=batch_size,
            progress=lambda step, n: self.stdout.write(f"rollups: {n} {step}") if n % every == 0 else None,
        )
        since = "every day" if rebuild.from_day is None else f"days from {rebuild.from_day} (prune watermark) on"
        self.stdout.write(
            f"rollups rebuilt for {since}: {rebuild.rows_deleted} rows deleted, "
            f"{rebuild.executions} executions rolled up again"
        )
