"""The market-4.0 source's topic, dimensions, KPIs, building blocks and thresholds."""

from __future__ import annotations

from ioc.kpi import formulas as f
from schemas.kpis import Better, Dimension, Kind, Kpi
from schemas.topics import SourceTopic

PAYMENTS = "ioc.market.payments"
TOPICS = (
    SourceTopic(
        PAYMENTS,
        "market",
        "merchant_id",
        ("merchant.onboarded", "merchant.offboarded", "payment.completed"),
    ),
)
TOPIC_LABELS = {PAYMENTS: ("Thanh toán chợ 4.0", "Market payments")}

MARKET = Dimension("market")
PROVIDER = Dimension("provider")
DIMS = (Dimension.DISTRICT, Dimension.COMMUNE, MARKET, PROVIDER)
PROVIDERS = ("vnpt_money", "viettel_money", "bank_qr", "other")

PAID = "market.payments"
VALUE = "market.value_vnd"
AMOUNT = "market.amount_vnd"  # sketch of payment sizes
PAYING = "market.paying_merchants"  # distinct merchants with a payment
SUM_BLOCKS = (PAID, VALUE)
SKETCH_BLOCKS = (AMOUNT,)
DISTINCT_BLOCKS = (PAYING,)

W, S = Kind.WINDOW, Kind.STATE
HI, LO, NO = Better.HIGHER, Better.LOWER, Better.NEITHER

KPIS = (
    Kpi("market.merchants", S, "count", HI, DIMS, "Tiểu thương dùng thanh toán số", "Merchants onboarded"),
    Kpi("market.payments", W, "count", HI, DIMS, "Giao dịch không tiền mặt", "Cashless payments"),
    Kpi("market.value_vnd", W, "vnd", HI, DIMS, "Giá trị giao dịch", "Payment value"),
    Kpi("market.payment_vnd_p50", W, "vnd", NO, DIMS, "Giá trị giao dịch trung vị", "Median payment"),
    Kpi(
        "market.merchants_active",
        W,
        "count",
        HI,
        DIMS,
        "Tiểu thương có giao dịch",
        "Merchants with a payment",
    ),
    Kpi("market.active_pct", W, "percent", HI, DIMS, "Tỷ lệ tiểu thương hoạt động", "Merchants active"),
)

FORMULAS = {
    "market.payments": f.count(PAID),
    "market.value_vnd": f.count(VALUE),
    "market.payment_vnd_p50": f.pctl(AMOUNT, 0.5),
    "market.merchants_active": f.distinct(PAYING),
    "market.active_pct": f.pct_of_state(PAYING, "market.merchants"),
}

# No wall thresholds: the wall judges its 1 h window, in which an active share swings from its
# daytime level to 0 every night (markets close, teams report a few times a week), so any fixed
# colour would be red half the day. Time-aware expectations are the operator's wall issue.
THRESHOLDS: dict[str, tuple[float, float]] = {}
