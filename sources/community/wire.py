"""This source's events as the pipeline carries them: msgspec Structs (schemas/wire.py says why).

Each Struct has the same fields and bounds as its model in `events.py`; tests/unit/test_wire.py
holds the two together.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal, TypeAlias

import msgspec

from schemas.wire import Count, Envelope, NonNegative

Level: TypeAlias = Literal["commune", "village"]
ActivityKind: TypeAlias = Literal[
    "account_setup", "app_install", "online_service_help", "cashless_help", "training"
]
Members = Annotated[int, msgspec.Meta(ge=1, le=2**63 - 1)]


# --- ioc.community.activities ----------------------------------------------------


class TeamRegistered(Envelope, tag="team.registered", kw_only=True, gc=False):
    type: ClassVar[str] = "team.registered"
    team_id: str
    level: Level
    district: str
    commune: str
    members: Members


class TeamMembersChanged(Envelope, tag="team.members_changed", kw_only=True, gc=False):
    type: ClassVar[str] = "team.members_changed"
    team_id: str
    district: str
    commune: str
    members: Members


class ActivityReported(Envelope, tag="activity.reported", kw_only=True, gc=False):
    type: ClassVar[str] = "activity.reported"
    activity_id: str
    team_id: str
    district: str
    commune: str
    kind: ActivityKind
    citizens_helped: Count
    hours: NonNegative
