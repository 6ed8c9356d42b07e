"""drf-spectacular glue: every operation documents the shared error responses, and component
names come from the API class so they stay stable and never collide."""

from __future__ import annotations

from typing import Any, Literal

from drf_spectacular.contrib.django_oauth_toolkit import DjangoOAuthToolkitScheme
from drf_spectacular.openapi import AutoSchema

from letsema_api.common.serializers import ErrorSerializer

_ERRORS_ALWAYS = ("400", "401", "403", "404", "429")
_ERRORS_ON_WRITE = ("409", "413", "422")


class LetsemaAutoSchema(AutoSchema):
    def _get_response_bodies(self, direction: Literal["request", "response"] = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        codes = _ERRORS_ALWAYS + (_ERRORS_ON_WRITE if self.method in {"POST", "PUT", "PATCH", "DELETE"} else ())
        for code in codes:
            if code not in responses:
                responses[code] = self._get_response_for_code(  # type: ignore[no-untyped-call]
                    ErrorSerializer, code, direction=direction
                )
        return responses

    def _get_serializer_name(self, serializer: Any, direction: str, bypass_extensions: bool = False) -> str:
        cls = serializer if isinstance(serializer, type) else type(serializer)
        parts = cls.__qualname__.split(".")
        if len(parts) > 1:
            # UserCreateApi.InputSerializer -> UserCreateInput
            owner = parts[-2].removesuffix("Api")
            inner = parts[-1].removesuffix("Serializer")
            return f"{owner}{inner}"
        name: str = super()._get_serializer_name(serializer, direction, bypass_extensions)
        return name


class LetsemaOAuth2Scheme(DjangoOAuthToolkitScheme):  # type: ignore[no-untyped-call]
    """Each operation's security requirement is the scope of the action it declares."""

    priority = 1

    def get_security_requirement(self, auto_schema: Any) -> dict[str, list[str]]:
        from letsema_api.accounts.permissions import ACTION_SCOPE, required_action

        action = required_action(auto_schema.view, auto_schema.method)
        return {self.name: [ACTION_SCOPE[action]] if action is not None else []}
