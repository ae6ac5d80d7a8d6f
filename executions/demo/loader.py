"""Loads the demo plans shipped in `plans/*.json`.

Each file is shaped like a Mimir workflow file (name, description, tasks, parallelGroups) plus a
`simulation` section: the topic vocabulary the simulator writes outputs and errors from. That
section stays on our side; only the workflow part is sent to the ingest API.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PLANS_DIR = Path(__file__).resolve().parent / "plans"


@dataclass(frozen=True)
class DemoPlan:
    plan_id: str
    workflow: dict[str, Any]  # the body of PUT /api/v1/plans/<plan_id>
    simulation: dict[str, Any]

    @property
    def tasks(self) -> list[dict[str, Any]]:
        return self.workflow["tasks"]

    @property
    def title(self) -> str:
        return self.workflow["name"]


def load_demo_plans(*, folder: Path = PLANS_DIR) -> list[DemoPlan]:
    """All demo plans, sorted by plan id (the file name without `.json`) so runs are repeatable."""
    plans = []
    for path in sorted(folder.glob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        simulation = document.pop("simulation", {})
        plans.append(DemoPlan(plan_id=path.stem, workflow=document, simulation=simulation))
    return plans
