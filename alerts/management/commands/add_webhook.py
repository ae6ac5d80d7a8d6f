from django.core.management.base import BaseCommand, CommandError

from alerts import services
from alerts.models import RULE_KINDS, THRESHOLD_KINDS
from executions.errors import ServiceError

# Each threshold kind's option, and the option's type.
_THRESHOLD_OPTIONS = {
    "qc_score_below": ("--qc-score-below", float),
    "attempts_above": ("--attempts-above", int),
    "failure_rate_above": ("--failure-rate-above", float),
    "rework_tokens_above": ("--rework-tokens-above", int),
}


class Command(BaseCommand):
    help = (
        "Create a webhook channel (or a Slack incoming webhook with --slack) with one alert rule per "
        "kind named by --on, for every plan unless --plan. Prints the channel's new signing secret, "
        "and nothing else (it is shown this once)."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help="the channel's name (unique)")
        parser.add_argument("url", help="where alerts are POSTed (http or https)")
        parser.add_argument("--on", required=True, metavar="KIND,...", help=f"comma-separated: {', '.join(RULE_KINDS)}")
        parser.add_argument("--plan", help="only executions of this plan id")
        for kind, (option, kind_type) in _THRESHOLD_OPTIONS.items():
            parser.add_argument(option, type=kind_type, help=f"the threshold of {kind}: {THRESHOLD_KINDS[kind]}")
        parser.add_argument("--window-minutes", type=int, help="the rolling window of failure_rate_above")
        parser.add_argument("--slack", action="store_true", help="a Slack-compatible incoming webhook (text blocks)")

    def handle(self, *args, name, url, on, plan, window_minutes, slack, **options):
        kinds = [k.strip() for k in on.split(",") if k.strip()]
        unknown = [k for k in kinds if k not in RULE_KINDS]
        if not kinds or unknown:
            raise CommandError(f"--on: unknown kind(s) {', '.join(unknown) or '(none given)'}; "
                               f"one of {', '.join(RULE_KINDS)}")
        if len(set(kinds)) != len(kinds):
            raise CommandError("--on: a kind is named twice")
        for kind, (option, _) in _THRESHOLD_OPTIONS.items():
            value = options[option[2:].replace("-", "_")]
            if kind in kinds and value is None:
                raise CommandError(f"{option} is needed for {kind}")
            if kind not in kinds and value is not None:
                raise CommandError(f"{option} is given but --on does not name {kind}")
        if window_minutes is not None and "failure_rate_above" not in kinds:
            raise CommandError("--window-minutes is given but --on does not name failure_rate_above")
        if "failure_rate_above" in kinds and window_minutes is None:
            raise CommandError("--window-minutes is needed for failure_rate_above")
        specs = []
        for kind in kinds:
            option = _THRESHOLD_OPTIONS.get(kind, (None,))[0]
            threshold = options[option[2:].replace("-", "_")] if option else None
            spec = services.RuleSpec(kind=kind, threshold=None if threshold is None else float(threshold),
                                     window_minutes=window_minutes if kind == "failure_rate_above" else None)
            try:
                specs.append(services.rule_spec_validate(spec))
            except ServiceError as exc:
                raise CommandError(_option_message(exc, threshold_option=option)) from exc
        try:
            _, secret = services.channel_create(name=name, kind="slack" if slack else "webhook", url=url,
                                                plan_id=plan, rules=specs)
        except ServiceError as exc:
            raise CommandError(_option_message(exc)) from exc
        # Only the secret on stdout, so that `SECRET=$(manage.py add_webhook ...)` works.
        self.stdout.write(secret)


def _option_message(exc: ServiceError, *, threshold_option: str | None = None) -> str:
    """The service's message with its field named as the command's option or argument."""
    names = {"threshold": threshold_option, "window_minutes": "--window-minutes", "plan_id": "--plan",
             "url": "URL", "name": "NAME", "kind": "--on", "rules": "--on"}
    fields = [names.get(e["field"], e["field"]) for e in exc.errors]
    return f"{', '.join(fields)}: {exc.detail}" if fields else exc.detail
