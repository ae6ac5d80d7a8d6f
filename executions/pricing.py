"""Cost in currency: the price table (SQL, `models.ModelPrice`) and the money arithmetic.

Neo4j holds the tokens, SQL the prices. A read passes the table (`PriceTable.param`) to its statement,
which resolves each attempt's model (the result's `model`, else the task definition's
`recommendedModel`) and the price in force at the attempt's completion time, and sums the tokens per
price in force (`cypher/pages/_cost`: exact integer sums). `cost()` then applies the prices to
those few sums with Decimal: Neo4j has no decimal type, and a float would not add up to the cent.
Attempts whose model has no price in force are counted as unpriced, never as 0.
"""

from __future__ import annotations

import decimal
from dataclasses import dataclass
from datetime import UTC
from decimal import Decimal
from functools import cached_property
from typing import Any

CURRENCY = "USD"
_MILLION = Decimal(1_000_000)
_CENT = Decimal("0.01")
_SMALLEST_SHOWN = Decimal("0.0001")


@dataclass(frozen=True)
class Price:
    id: int
    model: str
    input_per_million: Decimal
    output_per_million: Decimal
    effective_from_ms: int


@dataclass(frozen=True)
class PriceTable:
    prices: dict[int, Price]

    @cached_property
    def param(self) -> dict[str, list[dict[str, int]]]:
        """The statements' $prices: each priced model → its prices ({id, from}), newest first, so
        that the first one not after an attempt's time is the one in force."""
        by_model: dict[str, list[Price]] = {}
        for price in self.prices.values():
            by_model.setdefault(price.model, []).append(price)
        return {
            model: [{"id": p.id, "from": p.effective_from_ms}
                    for p in sorted(prices, key=lambda p: p.effective_from_ms, reverse=True)]
            for model, prices in by_model.items()
        }


def price_table() -> PriceTable:
    """Every price (one SQL query)."""
    from .models import ModelPrice

    rows = ModelPrice.objects.values_list("id", "model", "input_per_million", "output_per_million", "effective_from")
    return PriceTable({
        pk: Price(pk, model, inp, out, int(since.astimezone(UTC).timestamp() * 1000))
        for pk, model, inp, out, since in rows
    })


@dataclass(frozen=True)
class Cost:
    """What some attempts cost: `amount` of the priced ones (None: none was priced), and how many
    attempts with tokens had no price in force (`unpricedAttempts`), naming their models where
    known. Named as the read API answers it (schemas_read.CostOut reads these attributes)."""

    amount: Decimal | None
    unpricedAttempts: int = 0  # camelCase: the API's names
    unpricedModels: tuple[str, ...] = ()
    pricedAttempts: int = 0
    currency: str = CURRENCY

    def __add__(self, other: Cost) -> Cost:
        priced = self.pricedAttempts + other.pricedAttempts
        unpriced = self.unpricedAttempts + other.unpricedAttempts
        amount = (self.amount or Decimal(0)) + (other.amount or Decimal(0))
        return Cost(None if priced == 0 and unpriced else amount.normalize(), unpriced,
                    tuple(sorted({*self.unpricedModels, *other.unpricedModels})), priced)

    def __str__(self) -> str:
        return self.describe()

    def describe(self) -> str:
        """"$1.23", "$1.23 + 3 unpriced attempts", "unpriced" (one attempt) or "unpriced (3 attempts)"."""
        n = self.unpricedAttempts
        if self.amount is None:
            return "unpriced" if n == 1 else f"unpriced ({n} attempts)"
        if n == 0:
            return money(self.amount)
        return f"{money(self.amount)} + {n} unpriced attempt{'s' if n != 1 else ''}"


def money(amount: Decimal) -> str:
    """Dollars to the cent, and sub-cent amounts to four places, so that a cheap run is not "$0.00"."""
    if amount == 0:
        return "$0.00"
    if amount < _SMALLEST_SHOWN:
        return "< $0.0001"
    if amount < _CENT:
        return f"${amount.quantize(_SMALLEST_SHOWN, rounding=decimal.ROUND_HALF_UP)}"
    return f"${amount.quantize(_CENT, rounding=decimal.ROUND_HALF_UP):,}"


# Nothing spent: the sum of no costs.
NO_COST = Cost(Decimal(0))


def cost(raw: dict[str, Any] | None, table: PriceTable) -> Cost:
    """A statement's cost map ({parts: [{price, tokensInput, tokensOutput}], unpriced, unpricedModels},
    cypher/pages/_cost) → the Cost, with `table` the prices the statement was given."""
    raw = raw or {}
    return _priced(raw.get("parts") or [], int(raw.get("unpriced") or 0), raw.get("unpricedModels") or (), table)


def rollup_cost(rows: list[dict[str, Any]] | None, table: PriceTable) -> Cost:
    """The ReportReworkDay sums ({model, attemptDay, tokensInput, tokensOutput, attempts}: model as
    $prices is keyed, models.NO_MODEL for none; attemptDay a UTC midnight, cypher/report/days/
    _rework_cost) → the Cost, priced as cypher/pages/_cost prices each attempt: every price takes
    effect at a UTC midnight (ModelPrice.clean), so the price in force on an attempt's day is the
    one in force at its time. Unpriced models are named as keyed (lower-cased, trimmed)."""
    param = table.param
    parts: dict[int, dict[str, int]] = {}
    unpriced = 0
    models: set[str] = set()
    for row in rows or ():
        price = next((p["id"] for p in param.get(row["model"], ()) if p["from"] <= row["attemptDay"]), None)
        if price is None:
            unpriced += int(row["attempts"])
            if row["model"]:
                models.add(row["model"])
            continue
        part = parts.setdefault(price, {"price": price, "tokensInput": 0, "tokensOutput": 0, "attempts": 0})
        for key in ("tokensInput", "tokensOutput", "attempts"):
            part[key] += int(row[key])
    return _priced(list(parts.values()), unpriced, models, table)


def _priced(parts: list[dict[str, Any]], unpriced: int, unpriced_models: Any, table: PriceTable) -> Cost:
    """Token sums per price id (and attempts), and the attempts no price covers with their models →
    the Cost: exact Decimal arithmetic, shared by both paths so that they agree to the digit."""
    models = tuple(sorted(unpriced_models))
    priced = sum(int(part["attempts"]) for part in parts)
    amount: Decimal | None = None
    # Enough digits for any sum of stored tokens (each below 2**63) times a 12-digit price.
    with decimal.localcontext(prec=60):
        for part in parts:
            price = table.prices[part["price"]]  # the statement was given this table's ids only
            amount = (amount or Decimal(0)) + (
                Decimal(part["tokensInput"] or 0) * price.input_per_million
                + Decimal(part["tokensOutput"] or 0) * price.output_per_million
            ) / _MILLION
    if amount is None and unpriced == 0:
        amount = Decimal(0)  # no tokens spent: nothing to price
    if amount is not None:
        amount = amount.normalize()
    return Cost(amount, unpriced, models, priced)


def with_costs(rows: list[dict[str, Any]], table: PriceTable, key: str = "cost") -> list[dict[str, Any]]:
    """Each row's statement cost map under `key` (when it has one) → its Cost."""
    for row in rows:
        if key in row:
            row[key] = cost(row[key], table)
    return rows
