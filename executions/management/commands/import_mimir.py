import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from executions import services
from executions.errors import DatabaseUnavailable, ServiceError


def _plan_map(path: str | None) -> dict[str, str]:
    if path is None:
        return {}
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise CommandError(f"--plan-map {path}: {exc}", returncode=2) from exc
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        expected = 'expected a JSON object {"<executionId>": "<planId>", ...}'
        raise CommandError(f"--plan-map {path}: {expected}", returncode=2)
    return data


class Command(BaseCommand):
    help = (
        "Import a graph written by Mimir's persistence module (:Node {type: 'orchestration_execution' | "
        "'task_execution' | 'orchestration_plan'}) into our model, re-deriving what Mimir stored wrongly, "
        "and report every repair. Idempotent: run it again to resume, or to check (0 changes)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--source", metavar="BOLT_URL", default=None,
            help="the Neo4j holding Mimir's graph, e.g. bolt://neo4j:secret@host:7687 (default: the product's own)",
        )
        parser.add_argument(
            "--plan-map", metavar="FILE", default=None,
            help='a JSON object {"<executionId>": "<planId>"} for executions their task ids do not link to a plan',
        )
        parser.add_argument("--report-json", metavar="FILE", default=None, help="also write the report as JSON")
        parser.add_argument("--dry-run", action="store_true", help="print the report, write nothing")
        parser.add_argument("--batch-size", type=int, default=100, help="executions read at a time")
        parser.add_argument("--limit", type=int, default=None, help="stop after this many executions")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, source, plan_map, report_json, dry_run, batch_size, limit, no_progress, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1", returncode=2)
        if limit is not None and limit < 0:
            raise CommandError("--limit must not be negative", returncode=2)
        mapping = _plan_map(plan_map)
        try:
            mimir = services.MimirSource(url=source)
        except ServiceError as exc:
            raise CommandError(f"--source: {exc.detail}", returncode=2) from exc
        bar = None

        def total(n: int) -> None:
            nonlocal bar
            # On stderr, so that stdout holds only the report.
            bar = tqdm(total=n, unit="executions", file=self.stderr._out, disable=no_progress, dynamic_ncols=True)

        try:
            report = services.mimir_import(
                source=mimir, plan_map=mapping, dry_run=dry_run, limit=limit, batch_size=batch_size,
                on_total=total, on_progress=lambda n: bar.update(n),
            )
        except (DatabaseUnavailable, ServiceError) as exc:
            raise CommandError(f"import stopped: {exc} (run it again to resume)") from exc
        finally:
            if bar is not None:
                bar.close()
            mimir.close()
        for line in report.lines():
            self.stdout.write(line)
        if report_json:
            Path(report_json).write_text(json.dumps(report.as_dict(), indent=2, default=str) + "\n")
