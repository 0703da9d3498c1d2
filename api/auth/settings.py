"""The API's access control and request limits, as settings (environment variables `IOC_*`)."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from api.auth.tokens import parse_tokens


class AuthSettings(BaseSettings):
    """The API's access control and request limits (environment variables `IOC_*`)."""

    # hide_input_in_errors: a refused IOC_API_TOKENS must not print the tokens it holds
    model_config = SettingsConfigDict(
        env_prefix="IOC_", extra="ignore", frozen=True, hide_input_in_errors=True
    )

    api_tokens: SecretStr = Field(
        default=SecretStr(""),
        description="API tokens and their scopes: `token:scope,token:scope` or a JSON object "
        '{"token": "scope"}; scope is `all`, `district:CODE` or `agency:CODE` (a bare token is '
        "`all`). Empty: no token is needed anywhere.",
    )
    metrics_require_token: bool = Field(
        default=True,
        description="With tokens configured, /metrics needs a token of scope `all` "
        "(its labels reveal every district's numbers).",
    )
    cors_origins: str = Field(
        default="", description="Origins allowed to call the API from a browser (comma list); empty: no CORS."
    )
    api_max_query_bytes: int = Field(default=4096, ge=256, description="Longest query string accepted.")
    api_max_body_bytes: int = Field(default=16384, ge=0, description="Largest request body accepted.")

    @field_validator("api_tokens")
    @classmethod
    def _parse(cls, v: SecretStr) -> SecretStr:
        parse_tokens(v.get_secret_value())  # fail at start, naming the entry but never the token
        return v

    @property
    def origins(self) -> list[str]:
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]
