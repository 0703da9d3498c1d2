"""One root for the project's own errors, a subclass per area.

Callers that must tell "our refusal, with a message for a person" from a bug catch `IocError`;
each area raises its own subclass so a log line or a test can say where it came from.
"""

from __future__ import annotations


class IocError(Exception):
    """Anything the product refuses on purpose, with a message meant for a person."""


class ConfigError(IocError, ValueError):
    """A setting, a registry file or a simulator configuration that cannot be used."""


class RulesError(ConfigError):
    """An alert rules file that cannot be used (the message says which line and why).

    Operators fix these files by hand, so every problem is kept apart: `errors` holds one
    readable line per problem and `source` names the file, for `ioc rules check` to list.
    """

    def __init__(self, source: str, errors: list[str]) -> None:
        self.source = source
        self.errors = errors
        super().__init__(f"{source}: {len(errors)} error(s):\n" + "\n".join(f"  {e}" for e in errors))


class SourceError(IocError):
    """A source package that breaks the registry's rules (a duplicate KPI, topic or dimension)."""


class SinkError(IocError, RuntimeError):
    """A place events are written to (file, broker) that refused them."""
