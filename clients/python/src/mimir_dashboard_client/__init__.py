"""Python client for the Mimir Execution Dashboard's API (see README.md)."""

from .batch import Batch
from .client import RETRY_STATUSES, Client
from .errors import ApiError, BatchError, DashboardError, DashboardUnreachable, QueueFull
from .models import ExecutionResult, PlanIn, QCResult, TaskDefinition, Tokens

__all__ = [
    "RETRY_STATUSES",
    "ApiError",
    "Batch",
    "BatchError",
    "Client",
    "DashboardError",
    "DashboardUnreachable",
    "ExecutionResult",
    "PlanIn",
    "QCResult",
    "QueueFull",
    "TaskDefinition",
    "Tokens",
]
