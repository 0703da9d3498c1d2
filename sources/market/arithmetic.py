"""What market events change: payment counts, values and sizes, the merchants who were paid,
and each merchant's latest onboarding state.

A merchant's state is whichever of `merchant.onboarded` / `merchant.offboarded` occurred last
(an offboarding wins a tie), so the events may arrive in any order; `state.py` merges rows the
same way across batches.
"""

from __future__ import annotations

from typing import Any

from ioc.contributions import Dims, Effects, dims_of
from sources.market import kpis as b
from sources.market.wire import MerchantOffboarded, MerchantOnboarded, PaymentCompleted

MERCHANTS = "market_merchants"


def merchant_dims(e: PaymentCompleted | MerchantOnboarded | MerchantOffboarded) -> Dims:
    return dims_of(district=e.district, commune=e.commune, market=e.market, provider=e.provider)


def newer(at: Any, onboarded: bool, than: dict[str, Any]) -> bool:
    """Whether a state change at `at` supersedes the row `than` (an offboarding wins a tie)."""
    seen = than.get("changed_at")
    return seen is None or at > seen or (at == seen and not onboarded and than["onboarded"])


class Payments:
    """Market arithmetic: no lookups, every event carries its dimensions."""

    def __init__(self, lookups: object = None, sums: object = None) -> None:
        pass

    def event(self, e: Any, order: int, fx: Effects) -> None:
        if isinstance(e, PaymentCompleted):
            dims = merchant_dims(e)
            at = e.occurred_at
            fx.add(b.PAID, at, dims)
            fx.add(b.VALUE, at, dims, float(e.amount_vnd))
            fx.observe(b.AMOUNT, at, dims, float(e.amount_vnd))
            fx.count_distinct(b.PAYING, at, dims, e.merchant_id)
        elif isinstance(e, MerchantOnboarded | MerchantOffboarded):
            onboarded = isinstance(e, MerchantOnboarded)
            row = fx.entity(MERCHANTS, e.merchant_id)
            if newer(e.occurred_at, onboarded, row):
                row.update(
                    market=e.market,
                    district=e.district,
                    commune=e.commune,
                    provider=e.provider,
                    onboarded=onboarded,
                    changed_at=e.occurred_at,
                )
            fx.seen(b.PAID, merchant_dims(e))  # a name in the source's own area

    def flush(self, fx: Effects) -> None:
        return None
