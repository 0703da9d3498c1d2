"""The contract's models of this source's events (contract/EVENTS.md): the judge of bad input.

Strict pydantic models, one per event type; schemas/events.py says why they are strict.
"""

from __future__ import annotations

from typing import Annotated, Literal, TypeAlias

from pydantic import Field

from schemas.events import Envelope

Provider: TypeAlias = Literal["vnpt_money", "viettel_money", "bank_qr", "other"]


# --- ioc.market.payments ---------------------------------------------------------


class MerchantOnboarded(Envelope):
    """A trader at a market starts taking cashless payments through a provider."""

    type: Literal["merchant.onboarded"]
    merchant_id: str
    market: str
    district: str
    commune: str
    provider: Provider


class MerchantOffboarded(Envelope):
    """A trader stops taking cashless payments through that provider."""

    type: Literal["merchant.offboarded"]
    merchant_id: str
    market: str
    district: str
    commune: str
    provider: Provider


class PaymentCompleted(Envelope):
    """A cashless payment to a merchant went through."""

    type: Literal["payment.completed"]
    payment_id: str
    merchant_id: str
    market: str
    district: str
    commune: str
    provider: Provider
    amount_vnd: Annotated[int, Field(ge=0)]
