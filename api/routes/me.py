"""GET /api/v1/me: who the token is, so the wall can show it and offer only what it may do."""

from __future__ import annotations

from fastapi import APIRouter, Request

from api.auth import Caller
from api.auth.deps import tokens_of
from ioc.access import Role
from schemas.actions import Me

router = APIRouter(prefix="/api/v1", tags=["access"])


@router.get("/me", response_model=Me, summary="The calling token's name, role and scope")
async def me(principal: Caller, request: Request) -> Me:
    return Me.model_validate(
        {
            "name": principal.name,
            "role": str(principal.role),
            "scope": str(principal.scope),
            "may_act": principal.may(Role.OPERATOR),
            "may_audit": principal.may(Role.ADMIN),
            "tokens_required": tokens_of(request.app.state).enabled,
        }
    )
