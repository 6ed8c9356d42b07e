"""The one base for every rule the core enforces.

Concrete errors live next to the rule that raises them; each carries a stable
``code`` (the API maps it to ``{"code", "message", "details"}``), a human
message, and ``details`` naming the field and the rule where there is one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar


class DomainError(Exception):
    """A business rule was broken. Subclasses set ``code`` and ``http_status``.

    ``http_status`` is a hint for the HTTP layer: 422 for a request that is
    well-formed but breaks a rule, 409 for a state conflict, 400 for bad values.
    """

    code: ClassVar[str] = "domain_error"
    http_status: ClassVar[int] = 422

    def __init__(self, message: str, *, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = dict(details or {})

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r}, details={self.details!r})"


class ValidationError(DomainError):
    """A value is malformed or outside its allowed range.

    ``details`` holds ``field`` (the input's name) and ``rule`` (a short, stable
    rule name such as ``"min_value"``), plus any limits involved.
    """

    code = "validation_error"
    http_status = 400

    def __init__(self, message: str, *, field: str, rule: str, **extra: Any) -> None:
        super().__init__(message, details={"field": field, "rule": rule, **extra})
        self.field = field
        self.rule = rule


class InvalidTransition(DomainError):
    """A state machine was asked for a transition its current state does not allow."""

    code = "invalid_transition"
    http_status = 409

    def __init__(self, *, entity: str, from_state: str, action: str) -> None:
        super().__init__(
            f"cannot {action} a {entity} that is {from_state}",
            details={"entity": entity, "from_state": from_state, "action": action},
        )


class NotFound(DomainError):
    """An entity the caller named does not exist (in this tenant)."""

    code = "not_found"
    http_status = 404

    def __init__(self, *, entity: str, key: object) -> None:
        super().__init__(f"{entity} {key!s} not found", details={"entity": entity, "key": str(key)})
