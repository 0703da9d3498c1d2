"""Market state KPIs (merchants onboarded now) from `market_merchants`, the breakdown values
the registry gives, and how the merchants' rows are merged (the latest state change wins)."""

from __future__ import annotations

from datetime import datetime

from ioc.db.entities import Upsert, UpsertStore
from ioc.db.pool import Queryable
from ioc.kpi.context import KpiContext
from ioc.registry import Registry
from schemas.kpis import UNKNOWN, Dimension
from sources.market.arithmetic import MERCHANTS
from sources.market.kpis import DIMS, MARKET, PROVIDER, PROVIDERS


def registry_values(dim: Dimension, registry: Registry) -> set[str]:
    if dim == Dimension.DISTRICT:
        return {c.district for c in registry.communes}
    if dim == Dimension.COMMUNE:
        return set(registry.commune_codes)
    if dim == MARKET:
        return {m.code for m in registry.places.get("market", ())}
    if dim == PROVIDER:
        return set(PROVIDERS)
    return set()


async def merchants(
    conn: Queryable, by: Dimension | None, ctx: KpiContext, as_of: datetime
) -> dict[str, float]:
    """Merchants whose latest onboarding event is `merchant.onboarded`."""
    if by is not None and by not in DIMS:
        raise ValueError(f"merchants have no {by!r} breakdown")
    col = "''" if by is None else str(by)  # a declared dimension, never user text
    rows = await conn.fetch(
        f"SELECT COALESCE({col}, $1) AS d, count(*) AS n FROM market_merchants WHERE onboarded GROUP BY d",
        UNKNOWN,
    )
    return {r["d"]: float(r["n"]) for r in rows}


STATE = {"market.merchants": merchants}

_COLUMNS = (
    ("market", "text"),
    ("district", "text"),
    ("commune", "text"),
    ("provider", "text"),
    ("onboarded", "bool"),
    ("changed_at", "timestamptz"),
)

# The latest state change wins, whatever order batches come in (an offboarding wins a tie).
STORE = UpsertStore(
    Upsert(
        MERCHANTS,
        "merchant_id",
        _COLUMNS,
        sets={c: f"EXCLUDED.{c}" for c, _ in _COLUMNS},
        where="EXCLUDED.changed_at > t.changed_at"
        " OR (EXCLUDED.changed_at = t.changed_at AND t.onboarded AND NOT EXCLUDED.onboarded)",
    )
)
