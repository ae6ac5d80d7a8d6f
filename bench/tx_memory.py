"""Neo4j transaction memory per write: how much of `db.memory.transaction.max` one ingest write takes.

Starts its own Neo4j with a transaction limit of --limit MiB and, through the app's own services (no
HTTP), finds by bisection the largest write that limit still holds:

- one task result with an ASCII output (the worst case per byte of body): bytes of transaction
  memory per byte of output;
- a batch of task results with empty outputs: memory per event;
- a batch of task results with 3,300-byte outputs, the shape of the largest allowed batch
  (10,000 events in INGEST_MAX_BODY_BYTES).

docs/reliability.md ("Memory") derives the limits of scripts/neo4j_server.py from these numbers.

    .venv/bin/python bench/tx_memory.py                 # 64 MiB, a few minutes
    .venv/bin/python bench/tx_memory.py --limit 32

Neo4j on 127.0.0.1:--neo4j-port (default 7696, data in var/bench-tx-memory-neo4j, removed after).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness

MiB = 2**20


def largest(fits: Callable[[float], bool], lo: float, hi: float, step: float) -> float:
    """The largest value in [lo, hi) for which `fits` holds, within `step` (fits(lo) is assumed)."""
    while hi - lo > step:
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if fits(mid) else (lo, mid)
    return lo


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--limit", type=int, default=64, help="db.memory.transaction.max in MiB")
    ap.add_argument("--neo4j-port", type=int, default=7696)
    args = ap.parse_args(argv)
    harness.install_signal_handlers()
    with harness.neo4j_server("tx-memory", port=args.neo4j_port, tx_memory_max=f"{args.limit}m",
                              tx_memory_total_max=f"{4 * args.limit}m") as neo:
        os.environ.update(harness.app_env("tx-memory", neo.bolt_url), INGEST_GROUP_COMMIT_MAX="1")
        import django

        django.setup()
        from django.core.management import call_command

        from executions import schemas, services
        from executions.errors import TooLargeToStore

        call_command("install_schema", verbosity=0)
        calls = [0]

        def fits_output(mib: float) -> bool:
            calls[0] += 1
            payload = schemas.TaskResultIn.model_validate(
                {"taskId": "t", "result": {"status": "success", "output": "o" * int(mib * MiB)}})
            try:
                services.task_result_record(execution_id=f"o{calls[0]}", task_result=payload)
            except TooLargeToStore:
                return False
            return True

        def fits_batch(count: float, text: int) -> bool:
            calls[0] += 1
            events = [{"type": "task_result", "executionId": f"b{calls[0]}-{i // 100}", "taskId": f"t{i % 100}",
                       "result": {"status": "success", "output": "b" * text}} for i in range(int(count))]
            return services.events_apply(events=events).transactions == 1  # more: it was split

        began = time.monotonic()
        output = largest(fits_output, 0.25, 32, 0.1)
        empty = largest(lambda n: fits_batch(n, 0), 100, 10_000, 50)
        shaped = largest(lambda n: fits_batch(n, 3300), 100, 10_000, 50)
        limit_kib = args.limit * 1024
        print(f"\n## Neo4j transaction memory per write (db.memory.transaction.max {args.limit} MiB)\n")
        print(f"- one task result: output up to {output:.2f} MiB: {args.limit / output:.1f} bytes per byte of output")
        print(f"- a batch, empty outputs: up to {int(empty)} events: {limit_kib / empty:.1f} KiB per event")
        print(f"- a batch, 3,300-byte outputs: up to {int(shaped)} events: {limit_kib / shaped:.1f} KiB per event")
        print(f"- {calls[0]} writes in {time.monotonic() - began:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
