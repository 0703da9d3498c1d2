"""Bodies of the alert-action routes: acknowledgements, silences (Alertmanager's API v2 shape)
and the audit log (contract/KPIS.md, "HTTP API"). The matching rule of a silence lives here,
once, for the API that checks a body and the evaluator that applies it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

MAX_COMMENT = 1000


def storable(text: str) -> str:
    """Text PostgreSQL can hold: UTF-8 (no lone surrogate) and no NUL character."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text (a lone surrogate is not)") from None
    if "\x00" in text:
        raise ValueError("must not contain the NUL character")
    return text


MAX_MATCHERS = 32
MAX_SILENCE_DAYS = 366
NO_NUL = r"^[^\x00]*$"
"""Stated in the schema, so a client knows before sending; `storable` still checks (surrogates)."""


class AckBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: str = Field(
        default="", max_length=MAX_COMMENT, pattern=NO_NUL, description="Why, for the next shift"
    )

    @field_validator("comment")
    @classmethod
    def _storable(cls, v: str) -> str:
        return storable(v)


class Ack(BaseModel):
    """An acknowledgement of one firing of one alert."""

    fingerprint: str
    acked_by: str
    acked_at: datetime
    comment: str
    firing_since: datetime = Field(description="The firing acknowledged; a later firing is not")


class Matcher(BaseModel):
    """One label matcher, as Alertmanager's: `isRegex` matches the whole value (anchored)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    value: str = Field(max_length=500, pattern=NO_NUL)
    isRegex: bool = Field(
        default=False,
        description="`value` is then a regular expression matching the whole label value; one that "
        "does not compile is refused with 422",
    )
    isEqual: bool = True

    @field_validator("value")
    @classmethod
    def _storable(cls, v: str) -> str:
        return storable(v)

    @model_validator(mode="after")
    def _compiles(self) -> Matcher:
        if self.isRegex:
            try:
                re.compile(self.value)
            except re.error as exc:
                raise ValueError(f"matcher {self.name!r}: the regex does not compile ({exc})") from None
        return self

    def matches(self, labels: Mapping[str, str]) -> bool:
        value = labels.get(self.name, "")
        hit = re.fullmatch(self.value, value) is not None if self.isRegex else value == self.value
        return hit == self.isEqual


class SilenceBody(BaseModel):
    """A silence to create (`createdBy` is the token's name, whatever is sent).

    Refused with 400 `invalid_silence` (`SILENCE_RULES`): `endsAt` not after `startsAt`, or not in
    the future; longer than 366 days; matchers that match every alert (even one with no labels)."""

    model_config = ConfigDict(extra="ignore")

    matchers: list[Matcher] = Field(min_length=1, max_length=MAX_MATCHERS)
    startsAt: AwareDatetime
    endsAt: AwareDatetime
    comment: str = Field(min_length=1, max_length=MAX_COMMENT, pattern=NO_NUL)

    @field_validator("comment")
    @classmethod
    def _storable(cls, v: str) -> str:
        return storable(v)


SILENCE_RULES = {
    "out_of_range": "startsAt and endsAt must fall within the years 1 to 9999 in UTC",
    "ends_before_start": "endsAt must be after startsAt",
    "too_long": f"a silence lasts at most {MAX_SILENCE_DAYS} days",
    "ends_in_the_past": "endsAt is in the past: the silence would never apply",
    "matches_everything": "the matchers match every alert (even one with no labels);"
    " name at least one label value",
}
"""The rules across a silence's fields and the clock, which a schema cannot state: their words."""


def silence_refusal(body: SilenceBody, now: datetime) -> str | None:
    """The first rule of `SILENCE_RULES` a well-formed silence breaks, or None (the route
    answers 400 `invalid_silence` with its words)."""
    try:  # as stored: a time zone's offset can carry year 9999 past the calendar's end
        body.startsAt.astimezone(UTC), body.endsAt.astimezone(UTC)
    except OverflowError:
        return "out_of_range"
    if body.endsAt <= body.startsAt:
        return "ends_before_start"
    if (body.endsAt - body.startsAt).days > MAX_SILENCE_DAYS:
        return "too_long"
    if body.endsAt <= now:
        return "ends_in_the_past"
    if all(m.matches({}) for m in body.matchers):
        return "matches_everything"
    return None


SilenceState = Literal["active", "pending", "expired"]


class SilenceStatus(BaseModel):
    state: SilenceState


class Silence(BaseModel):
    """A silence as Alertmanager's API v2 lists one (`GettableSilence`)."""

    id: str
    status: SilenceStatus
    updatedAt: datetime
    matchers: list[Matcher]
    startsAt: datetime
    endsAt: datetime
    createdBy: str
    comment: str

    def applies(self, labels: Mapping[str, str], now: datetime) -> bool:
        return self.startsAt <= now < self.endsAt and all(m.matches(labels) for m in self.matchers)


class SilenceCreated(BaseModel):
    silenceID: str


class AuditEntry(BaseModel):
    """One action: who, what, when and from where. The API can list these, never edit them."""

    at: datetime
    actor: str
    role: str
    scope: str
    address: str | None
    action: str
    target: str
    detail: dict[str, Any]


class AuditResponse(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: datetime = Field(serialization_alias="from")
    to: datetime
    entries: list[AuditEntry]


class Me(BaseModel):
    """The calling token, as the wall shows it."""

    name: str
    role: Literal["viewer", "operator", "admin"]
    scope: str = Field(description="`all`, `district:CODE`, `commune:CODE` or `agency:CODE`")
    may_act: bool = Field(description="May acknowledge alerts and manage silences")
    may_audit: bool = Field(description="May read the audit log and /metrics")
    tokens_required: bool = Field(description="False: no tokens are configured, the API is open")
