"""Market 4.0: cashless payments at the province's traditional markets (topic ioc.market.payments).

Events (`events.py`, `wire.py`), KPIs (`kpis.py`), per-batch arithmetic (`arithmetic.py`), its
merchants' table (`migrations/`) with its writes and state KPI (`state.py`), and its wall area
(below). Its places (markets) are registry data: `registry.places["market"]`.
"""

from __future__ import annotations

from ioc.sources import Source, WallArea
from sources.market import events, kpis, state, wire
from sources.market.arithmetic import Payments
from sources.market.simulator import profiles as market_profiles

SOURCE = Source(
    name="market",
    label_vi="Chợ 4.0",
    label_en="Market 4.0",
    topics=kpis.TOPICS,
    topic_labels=kpis.TOPIC_LABELS,
    models=(events.MerchantOnboarded, events.MerchantOffboarded, events.PaymentCompleted),
    structs=(wire.MerchantOnboarded, wire.MerchantOffboarded, wire.PaymentCompleted),
    dimensions=kpis.DIMS,
    dimension_labels={
        "district": ("theo địa bàn", "by district"),
        "commune": ("theo xã", "by commune"),
        "market": ("theo chợ", "by market"),
        "provider": ("theo đơn vị thanh toán", "by payment provider"),
    },
    value_names={
        "provider": {
            "vnpt_money": ("VNPT Money", "VNPT Money"),
            "viettel_money": ("Viettel Money", "Viettel Money"),
            "bank_qr": ("QR ngân hàng", "Bank QR"),
            "other": ("Khác", "Other"),
        }
    },
    freshness={kpis.PAYMENTS: "30m office"},
    kpis=kpis.KPIS,
    sum_blocks=kpis.SUM_BLOCKS,
    sketch_blocks=kpis.SKETCH_BLOCKS,
    distinct_blocks=kpis.DISTINCT_BLOCKS,
    formulas=kpis.FORMULAS,
    thresholds=kpis.THRESHOLDS,
    state=state.STATE,
    registry_values=state.registry_values,
    arithmetic=Payments,
    store=state.STORE,
    migrations="sources.market",
    simulator=market_profiles,
    wall=WallArea(
        headline=("market.payments", "market.value_vnd", "market.merchants_active", "market.active_pct"),
        of={"market.merchants_active": "market.merchants"},
        secondary=("market.payment_vnd_p50", "market.merchants"),
        trend=("market.payments",),
        breakdown=("market.active_pct", kpis.MARKET),
    ),
)
