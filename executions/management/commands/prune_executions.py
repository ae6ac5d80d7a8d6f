import re

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from executions import clock, services
from executions.errors import DatabaseUnavailable, ServiceError

_DAYS = re.compile(r"(\d+)d")


def _older_than_days(raw: str) -> int:
    match = _DAYS.fullmatch(raw.strip())
    if not match or int(match.group(1)) < 1:
        raise CommandError(f"--older-than must be a number of days such as 90d (at least 1d), got {raw!r}",
                           returncode=2)
    return int(match.group(1))


class Command(BaseCommand):
    help = (
        "Delete the executions first known before 00:00 UTC of the day N days ago, with their task "
        "executions and attempts, a bounded number of nodes per transaction. Plans and the failure "
        "report's rollups stay; running executions are kept. Interrupted, run it again to finish."
    )

    def add_arguments(self, parser):
        parser.add_argument("--older-than", required=True, metavar="Nd",
                            help="age in days of what goes, e.g. 90d (cut at the UTC midnight)")
        parser.add_argument("--keep-failed", action="store_true", help="keep failed executions and their tasks")
        parser.add_argument("--dry-run", action="store_true", help="count what would go, delete nothing")
        parser.add_argument("--batch-size", type=int, default=None,
                            help=f"nodes deleted per transaction at most (default PRUNE_BATCH_NODES, "
                                 f"{settings.PRUNE_BATCH_NODES})")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, older_than, keep_failed, dry_run, batch_size, no_progress, **options):
        days = _older_than_days(older_than)
        batch_size = settings.PRUNE_BATCH_NODES if batch_size is None else batch_size
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1", returncode=2)
        bar = None

        def total(counts: services.PruneCounts) -> None:
            nonlocal bar
            if not dry_run:  # on stderr, so that stdout holds only the summary
                bar = tqdm(total=counts.nodes, unit="nodes", file=self.stderr._out, disable=no_progress,
                           dynamic_ncols=True)

        try:
            result = services.executions_prune(
                older_than_days=days, keep_failed=keep_failed, dry_run=dry_run, batch_size=batch_size,
                on_total=total, on_progress=lambda done: bar.update(done.nodes),
            )
        except (DatabaseUnavailable, ServiceError) as exc:
            raise CommandError(f"prune stopped: {exc} (run it again to finish)") from exc
        finally:
            if bar is not None:
                bar.close()
        for line in _summary(result):
            self.stdout.write(line)


def _summary(result: services.PruneResult) -> list[str]:
    d = result.deleted
    cutoff = clock.utc_datetime(result.before).date().isoformat()
    verb = "would delete" if result.dry_run else "deleted"
    lines = [
        f"{verb} {d.executions} executions first known before {cutoff} (UTC), {d.task_executions} task "
        f"executions, {d.attempts} attempts"
        + ("" if result.dry_run else f", in {result.transactions} transactions")
    ]
    kept = []
    if d.running_kept:
        kept.append(f"{d.running_kept} still running")
    if d.failed_kept:
        kept.append(f"{d.failed_kept} failed (--keep-failed)")
    if kept:
        lines.append(f"kept {' and '.join(kept)} of the executions before {cutoff}")
    lines.append("plans and the failure report's rollups are kept" + (" (dry run: nothing deleted)"
                                                                       if result.dry_run else ""))
    return lines
