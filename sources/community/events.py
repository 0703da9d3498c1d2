"""The contract's models of this source's events (contract/EVENTS.md): the judge of bad input.

Strict pydantic models, one per event type; schemas/events.py says why they are strict.
"""

from __future__ import annotations

from typing import Annotated, Literal, TypeAlias

from pydantic import Field

from schemas.events import Envelope, NonNegative

Level: TypeAlias = Literal["commune", "village"]
ActivityKind: TypeAlias = Literal[
    "account_setup", "app_install", "online_service_help", "cashless_help", "training"
]


# --- ioc.community.activities ----------------------------------------------------


class TeamRegistered(Envelope):
    """A community digital-technology team is set up in a commune or village."""

    type: Literal["team.registered"]
    team_id: str
    level: Level
    district: str
    commune: str
    members: Annotated[int, Field(ge=1, le=2**63 - 1)]  # what the table (bigint) holds


class TeamMembersChanged(Envelope):
    """A team's member count changed (the latest report wins)."""

    type: Literal["team.members_changed"]
    team_id: str
    district: str
    commune: str
    members: Annotated[int, Field(ge=1, le=2**63 - 1)]  # what the table (bigint) holds


class ActivityReported(Envelope):
    """A team helped citizens onto digital services."""

    type: Literal["activity.reported"]
    activity_id: str
    team_id: str
    district: str
    commune: str
    kind: ActivityKind
    citizens_helped: Annotated[int, Field(ge=0)]
    hours: NonNegative
