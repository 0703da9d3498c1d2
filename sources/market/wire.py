"""This source's events as the pipeline carries them: msgspec Structs (schemas/wire.py says why).

Each Struct has the same fields and bounds as its model in `events.py`; tests/unit/test_wire.py
holds the two together.
"""

from __future__ import annotations

from typing import ClassVar, Literal, TypeAlias

from schemas.wire import Count, Envelope

Provider: TypeAlias = Literal["vnpt_money", "viettel_money", "bank_qr", "other"]


# --- ioc.market.payments ---------------------------------------------------------


class MerchantOnboarded(Envelope, tag="merchant.onboarded", kw_only=True, gc=False):
    type: ClassVar[str] = "merchant.onboarded"
    merchant_id: str
    market: str
    district: str
    commune: str
    provider: Provider


class MerchantOffboarded(Envelope, tag="merchant.offboarded", kw_only=True, gc=False):
    type: ClassVar[str] = "merchant.offboarded"
    merchant_id: str
    market: str
    district: str
    commune: str
    provider: Provider


class PaymentCompleted(Envelope, tag="payment.completed", kw_only=True, gc=False):
    type: ClassVar[str] = "payment.completed"
    payment_id: str
    merchant_id: str
    market: str
    district: str
    commune: str
    provider: Provider
    amount_vnd: Count
