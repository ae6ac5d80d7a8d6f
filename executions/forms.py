"""The list page's filters, read from the query string (shareable URLs; bad values are ignored)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.validators import MaxLengthValidator, MaxValueValidator, MinValueValidator

from .clock import FIRST_DAY, LAST_DAY
from .models import EXECUTION_STATUSES

DAY_RANGE = [MinValueValidator(FIRST_DAY), MaxValueValidator(LAST_DAY)]


class ExecutionFilterForm(forms.Form):
    """The page renders q, status, plan, the dates and the start event (templates/executions/_field.html); page comes
    from the pager's links."""

    q = forms.CharField(
        required=False, max_length=200, strip=True, label="Search",
        widget=forms.SearchInput(attrs={"placeholder": "Execution id, plan id or task title"}),
    )
    status = forms.ChoiceField(
        required=False, choices=[("", "Any status")] + [(s, s.capitalize()) for s in EXECUTION_STATUSES]
    )
    # Any plan id filters (a shared URL may name one this page does not offer); the select offers
    # the plans the list knows, see offer_plans(). (max_length would put a maxlength on the select.)
    plan = forms.CharField(required=False, strip=True, validators=[MaxLengthValidator(200)], widget=forms.Select)
    started_from = forms.DateField(required=False, label="Started from", validators=DAY_RANGE,
                                   widget=forms.DateInput(attrs={"type": "date"}))
    started_to = forms.DateField(required=False, label="to", validators=DAY_RANGE,
                                   widget=forms.DateInput(attrs={"type": "date"}))
    # Executions created by task results (or a finish) whose start event never came: a stray post
    # with a typo'd id, or a start still on its way.
    start_event = forms.ChoiceField(
        required=False, label="Start event",
        choices=[("", "Any"), ("received", "Received"), ("missing", "No start event received")],
    )
    page = forms.IntegerField(required=False, min_value=1, max_value=100_000)

    def offer_plans(self, plan_ids: list[str]) -> None:
        """The plan select's options: any plan, then each of `plan_ids`."""
        self.fields["plan"].widget.choices = [("", "Any plan"), *((p, p) for p in plan_ids)]

    def selector_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for selectors.execution_list; invalid fields count as absent."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {
            "search": data.get("q") or None,
            "status": data.get("status") or None,
            "plan_id": data.get("plan") or None,
            "started_from": data.get("started_from"),
            "started_to": data.get("started_to"),
            "start_event": data.get("start_event") or None,
            "page": data.get("page") or 1,
        }

    @property
    def is_filtered(self) -> bool:
        kwargs = self.selector_kwargs()
        return any(kwargs[k] for k in ("search", "status", "plan_id", "started_from", "started_to", "start_event"))


class TaskHistoryForm(forms.Form):
    """`?n=`: how many of the task's most recent runs the history shows. Unlike the list's filters
    a bad value is refused (400 naming `n`), not ignored: the page would otherwise show another
    number of runs than the link asked for."""

    n = forms.IntegerField(required=False, min_value=1, label="Runs")

    def __init__(self, *args, max_runs: int, default_runs: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["n"].widget.attrs["placeholder"] = str(default_runs)
        self.fields["n"].max_value = max_runs
        self.fields["n"].validators.append(MaxValueValidator(max_runs))
        self.fields["n"].widget.attrs["max"] = max_runs
