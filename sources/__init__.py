"""The registry of source systems: one line per source.

A source is one package here (see docs/ADDING_A_SOURCE.md). The worker, the alert evaluator
and the API know sources only through `SOURCES`; adding a source is its folder, its registry
data and one line below.
"""

from __future__ import annotations

from ioc.sources import Sources
from schemas.decode import Decoder
from schemas.events import event_adapter
from schemas.topics import DEADLETTER
from sources import community, eoffice, market, portal, vc

SOURCES = Sources(
    (
        vc.SOURCE,
        eoffice.SOURCE,
        portal.SOURCE,
        market.SOURCE,
        community.SOURCE,
    )
)

DECODER = Decoder(
    SOURCES.topics,
    tuple(m for s in SOURCES.all for m in s.models),
    tuple(c for s in SOURCES.all for c in s.structs),
)
"""The one decoder of every source topic (schemas/decode.py)."""

decode = DECODER.decode

# The registry's tables under the names the simulator, the tests and the benchmarks use.
CATALOG = SOURCES.catalog
BY_NAME = SOURCES.kpis
DEFAULT_THRESHOLDS = SOURCES.thresholds
SOURCE_TOPICS = SOURCES.topics
SOURCE_TOPIC_NAMES = tuple(t.name for t in SOURCE_TOPICS)
ALL_TOPIC_NAMES = (*SOURCE_TOPIC_NAMES, DEADLETTER)
EVENT_MODELS = tuple(m for s in SOURCES.all for m in s.models)
MODEL_BY_TYPE = DECODER.model_of_type
WIRE_BY_TYPE = DECODER.struct_of_type
TOPIC_OF_TYPE = DECODER.topic_of_type
EVENT_ADAPTER = event_adapter(EVENT_MODELS)  # type: ignore[arg-type]
event_entity_id = DECODER.event_entity_id

VC_TELEMETRY, VC_MEETINGS = vc.kpis.TELEMETRY, vc.kpis.MEETINGS
EOFFICE_DOCUMENTS = eoffice.kpis.DOCUMENTS
PORTAL_APPLICATIONS = portal.kpis.APPLICATIONS
MARKET_PAYMENTS = market.kpis.PAYMENTS
COMMUNITY_ACTIVITIES = community.kpis.ACTIVITIES
