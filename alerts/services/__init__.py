"""Writes of the alerts app, one module per concern:

- `channels`: channels and their rules, secrets and their rotation, re-enabling;
- `detection`: a pass over the graph's changed facts that writes the outbox (`AlertEvent`, `Delivery`);
- `delivery`: claiming due deliveries, sending, recording attempts, backoff, disabling channels.
"""

from .channels import (
    RuleSpec,
    channel_create,
    channel_delete,
    channel_enable,
    channel_remove,
    channel_secret_rotate,
    channel_test_send,
    rule_create,
    rule_delete,
    rule_spec_validate,
    secret_fingerprint,
)
from .delivery import DeliverReport, SendResult, backoff_seconds, claim, deliver_due, record, release, send
from .detection import DetectionMemo, DetectReport, detect, subject_key

__all__ = [
    "DeliverReport",
    "DetectReport",
    "DetectionMemo",
    "RuleSpec",
    "SendResult",
    "backoff_seconds",
    "channel_create",
    "channel_delete",
    "channel_enable",
    "channel_remove",
    "channel_secret_rotate",
    "channel_test_send",
    "claim",
    "deliver_due",
    "detect",
    "record",
    "release",
    "rule_create",
    "rule_delete",
    "rule_spec_validate",
    "secret_fingerprint",
    "send",
    "subject_key",
]
