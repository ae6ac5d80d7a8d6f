"""The failure report's filters, read from the query string (GET, so a report URL can be shared).

Dates are UTC calendar days, both ends included: ?started_from=2025-11-01&started_to=2025-11-30 covers
executions started from 2025-11-01 00:00 UTC up to (excluding) 2025-12-01 00:00 UTC. Without dates
the report covers the last DEFAULT_DAYS days, today included. An invalid field falls back to its
default and its error is shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import urlencode

from django import forms

from . import clock
from .errors import InvalidInput
from .forms import DAY_RANGE

DEFAULT_DAYS = 30
MAX_DAYS = 731


@dataclass(frozen=True)
class ReportFilters:
    day_from: date
    day_to: date
    plan_id: str | None

    @property
    def started_from(self) -> int:
        return clock.day_start_ms(self.day_from)

    @property
    def started_to(self) -> int:
        return clock.day_start_ms(self.day_to + timedelta(days=1))

    def selector_kwargs(self) -> dict:
        return {"started_from": self.started_from, "started_to": self.started_to, "plan_id": self.plan_id}

    def params(self) -> dict[str, str]:
        """The query parameters that ask for exactly this report."""
        params = {"started_from": self.day_from.isoformat(), "started_to": self.day_to.isoformat()}
        if self.plan_id:
            params["plan"] = self.plan_id
        return params

    def querystring(self) -> str:
        return urlencode(self.params())


# The page's date inputs always hold a day (the report's range), so the browser asks for one.
_DAY_INPUT = {"type": "date", "required": True}


class FailureReportForm(forms.Form):
    started_from = forms.DateField(required=False, label="Started from", validators=DAY_RANGE,
                                   widget=forms.DateInput(attrs=_DAY_INPUT))
    started_to = forms.DateField(required=False, label="to (included)", validators=DAY_RANGE,
                                   widget=forms.DateInput(attrs=_DAY_INPUT))
    plan = forms.ChoiceField(required=False, label="Plan")

    def __init__(self, data, *, plans: list[tuple[str, str]], today: date):
        super().__init__(data)
        self.today = today
        self.plans = plans
        self.fields["plan"].choices = [("", "All plans"), *plans]

    def showing(self, filters: ReportFilters) -> FailureReportForm:
        """The form as the page shows it: its fields hold what the report covers (defaults filled
        in, invalid values replaced); the errors stay with this one."""
        return FailureReportForm(filters.params(), plans=self.plans, today=self.today)

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("started_from"), cleaned.get("started_to")
        if start and end:
            if start > end:
                self.add_error("started_to", "must be on or after the start date")
            elif (end - start).days + 1 > MAX_DAYS:
                self.add_error("started_to", f"the range can be at most {MAX_DAYS} days")
        return cleaned

    def filters(self) -> ReportFilters:
        """The filters to report on: valid fields as given, the others at their defaults."""
        self.is_valid()
        data = {k: v for k, v in getattr(self, "cleaned_data", {}).items() if k not in self.errors}
        day_to = data.get("started_to") or self.today
        day_from = data.get("started_from") or day_to - timedelta(days=DEFAULT_DAYS - 1)
        if day_from > day_to or (day_to - day_from).days + 1 > MAX_DAYS:
            day_to = self.today if day_from > self.today else day_from + timedelta(days=DEFAULT_DAYS - 1)
        return ReportFilters(day_from=day_from, day_to=day_to, plan_id=data.get("plan") or None)


def strict_filters(data: dict, *, plans: list[tuple[str, str]], today: date) -> ReportFilters:
    """The same fields, limits and defaults for the API, where an invalid value is refused
    (InvalidInput naming each field) instead of falling back to its default."""
    form = FailureReportForm({k: v.isoformat() if isinstance(v, date) else v for k, v in data.items() if v is not None},
                             plans=plans, today=today)
    if not form.is_valid():
        errors = [
            {"field": field, "message": message} for field, messages in form.errors.items() for message in messages
        ]
        raise InvalidInput(f"invalid fields: {', '.join(sorted(form.errors))}", errors=errors)
    return form.filters()
