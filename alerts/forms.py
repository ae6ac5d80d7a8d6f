"""The alerts pages' forms. They check types and sizes; what a channel or rule must be is the
services' to say (`alerts.services`), and their errors land on the field they name."""

from __future__ import annotations

from django import forms

from executions.errors import ServiceError

from . import services
from .models import CHANNEL_KINDS, RULE_KINDS, THRESHOLD_KINDS

CHANNEL_KIND_LABELS = {"webhook": "Webhook (signed JSON)", "slack": "Slack incoming webhook", "email": "Email"}


def add_service_errors(form: forms.Form, error: ServiceError) -> None:
    """A service's refusal on the form: each error on the field it names (the form's own name for
    it), else above the form."""
    named = False
    for item in error.errors:
        field = item.get("field")
        if field in form.fields:
            form.add_error(field, item.get("message") or error.detail)
            named = True
    if not named:
        form.add_error(None, error.detail)


class ChannelForm(forms.Form):
    name = forms.CharField(max_length=100, strip=True)
    kind = forms.ChoiceField(choices=[(k, CHANNEL_KIND_LABELS[k]) for k in CHANNEL_KINDS])
    url = forms.CharField(required=False, max_length=2000, strip=True, label="URL",
                          help_text="Webhook and Slack: where alerts are POSTed (http or https).",
                          widget=forms.URLInput(attrs={"placeholder": "https://"}))
    email = forms.CharField(required=False, max_length=254, strip=True, label="Email address",
                            help_text="Email channels only.", widget=forms.EmailInput)

    def create(self):
        """The new channel and its secret, or None with the service's errors on the form."""
        data = self.cleaned_data
        try:
            return services.channel_create(name=data["name"], kind=data["kind"], url=data["url"], email=data["email"])
        except ServiceError as error:
            add_service_errors(self, error)
            return None


def _threshold_help() -> str:
    return "; ".join(f"{kind}: {what}" for kind, what in THRESHOLD_KINDS.items())


class RuleForm(forms.Form):
    kind = forms.ChoiceField(choices=[(k, k) for k in RULE_KINDS])
    plan_id = forms.CharField(required=False, max_length=200, strip=True, label="Plan",
                              help_text="A plan id; empty: every plan.")
    threshold = forms.FloatField(required=False, help_text=_threshold_help())
    window_minutes = forms.IntegerField(required=False, label="Window (minutes)",
                                        help_text="failure_rate_above only: the rolling window.")

    def clean(self):
        data = super().clean()
        if not self.errors:
            try:
                self.spec = services.rule_spec_validate(services.RuleSpec(
                    kind=data["kind"], threshold=data.get("threshold"), window_minutes=data.get("window_minutes")))
            except ServiceError as error:
                add_service_errors(self, error)
        return data

    def create(self, *, channel_id: int):
        """The new rule, or None with the service's errors on the form."""
        try:
            return services.rule_create(channel_id=channel_id, spec=self.spec,
                                        plan_id=self.cleaned_data["plan_id"] or None)
        except ServiceError as error:
            add_service_errors(self, error)
            return None
