"""The list page's filters, read from the query string (shareable URLs; bad values are ignored)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator

from .clock import FIRST_DAY, LAST_DAY
from .models import EXECUTION_STATUSES

DAY_RANGE = [MinValueValidator(FIRST_DAY), MaxValueValidator(LAST_DAY)]


class ExecutionFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, strip=True, label="Search")
    status = forms.ChoiceField(
        required=False, choices=[("", "Any status")] + [(s, s.capitalize()) for s in EXECUTION_STATUSES]
    )
    plan = forms.CharField(required=False, max_length=200, strip=True)
    started_from = forms.DateField(
        required=False, label="From", validators=DAY_RANGE, widget=forms.DateInput(attrs={"type": "date"})
    )
    started_to = forms.DateField(
        required=False, label="To", validators=DAY_RANGE, widget=forms.DateInput(attrs={"type": "date"})
    )
    page = forms.IntegerField(required=False, min_value=1, max_value=100_000)

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
            "page": data.get("page") or 1,
        }

    @property
    def is_filtered(self) -> bool:
        kwargs = self.selector_kwargs()
        return any(kwargs[k] for k in ("search", "status", "plan_id", "started_from", "started_to"))
