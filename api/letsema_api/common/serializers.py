"""Base serializers: inputs that refuse unknown keys, money as decimal strings, the error shape.

Convention (HackSoft styleguide): each API class nests an ``InputSerializer(InputSerializer)``
and an ``OutputSerializer``; the OpenAPI component names come from the API's name
(``UserCreateApi.InputSerializer`` → ``UserCreateInput``, see ``common.schema``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, ClassVar

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail

from letsema_core.money import Money, round_cent

MONEY_PATTERN = r"^-?\d{1,12}(\.\d{1,2})?$"
_MONEY = re.compile(MONEY_PATTERN)


class InputSerializer(serializers.Serializer):  # type: ignore[misc]
    """A request body that names a field this serializer does not know is refused (400, rule
    ``unknown_field``) rather than silently ignored: a typo never passes for an omission."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            writable = {name for name, f in self.fields.items() if not f.read_only}
            unknown = sorted(str(key) for key in data if key not in writable)
            if unknown:
                raise serializers.ValidationError(
                    {name: [ErrorDetail("Unknown field.", code="unknown_field")] for name in unknown}
                )
        return super().to_internal_value(data)


@extend_schema_field({"type": "string", "format": "decimal", "pattern": MONEY_PATTERN, "example": "1250.00"})
class MoneyField(serializers.Field):  # type: ignore[misc]
    """An amount in maloti as a JSON string with at most two decimals (``"1250.00"``, ``"15"``).

    JSON numbers are refused (rule ``money_format``): ``1250.1`` arrives as a float, and money is
    never a float. ``min_value`` (default ``"0"``) and ``max_value`` bound it (rules ``min_value``,
    ``max_value``). Gives a ``Decimal``; renders ``Money``/``Decimal`` as a two-decimal string.
    """

    default_error_messages: ClassVar[dict[str, str]] = {
        "money_format": 'Must be a decimal string with at most 2 decimals, e.g. "1250.00".',
        "min_value": "Must be at least {limit}.",
        "max_value": "Must be at most {limit}.",
    }

    def __init__(self, *, min_value: str | None = "0", max_value: str | None = None, **kwargs: Any) -> None:
        self.min_value = Decimal(min_value) if min_value is not None else None
        self.max_value = Decimal(max_value) if max_value is not None else None
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Decimal:
        if not isinstance(data, str) or not _MONEY.match(data):
            self.fail("money_format")
        value = Decimal(data) + 0  # "-0.00" becomes "0.00"
        if self.min_value is not None and value < self.min_value:
            self.fail("min_value", limit=f"{self.min_value:.2f}")
        if self.max_value is not None and value > self.max_value:
            self.fail("max_value", limit=f"{self.max_value:.2f}")
        return value

    def to_representation(self, value: Any) -> str:
        amount = value.amount if isinstance(value, Money) else Decimal(value)
        return f"{round_cent(amount):.2f}"


# An output serializer for the busiest reads: the same fields, the same schema and the same JSON as a plain
# ``Serializer``, without its per-instance cost. DRF's ``to_representation`` deep-copies and binds the declared
# fields for every serializer instance, then reads each attribute through ``get_attribute``. When every readable
# field is a plain one (``_PLAIN_FIELDS``: a value read from one attribute and formatted by the field's own
# ``to_representation``), this reads the attributes directly and formats them with the declared fields, which
# need no binding for that. Anything else (another field type, a dotted or ``"*"`` source, a mapping, a callable
# or missing attribute, an absent related object) takes DRF's own path. (A comment, not a docstring:
# drf-spectacular would publish a docstring as every subclass's schema description.)
class PlainOutputSerializer(serializers.Serializer):  # type: ignore[misc]
    def to_representation(self, instance: Any) -> Any:
        plan = _plain_plan(type(self))
        if plan is None or isinstance(instance, Mapping):
            return super().to_representation(instance)
        ret: dict[str, Any] = {}
        for name, source, represent in plan:
            try:
                value = getattr(instance, source, _MISSING)
            except Exception:  # e.g. an absent related object: DRF's get_attribute decides (None, or raises)
                return super().to_representation(instance)
            if value is _MISSING or callable(value):
                return super().to_representation(instance)
            ret[name] = None if value is None else represent(value)
        return ret


_MISSING = object()
_PLAIN_FIELDS = (
    serializers.CharField,
    serializers.IntegerField,
    serializers.DateField,
    serializers.ChoiceField,
    MoneyField,
)
_PLANS: dict[type, list[tuple[str, str, Any]] | None] = {}


def _plain_plan(cls: type[serializers.Serializer]) -> list[tuple[str, str, Any]] | None:
    """``(key, attribute, format)`` for each readable field of ``cls`` in order, or None when one is not plain."""
    try:
        return _PLANS[cls]
    except KeyError:
        pass
    plan: list[tuple[str, str, Any]] | None = []
    for name, field in cls._declared_fields.items():
        if field.write_only:
            continue
        source = field.source or name
        if type(field) not in _PLAIN_FIELDS or source == "*" or "." in source or plan is None:
            plan = None
            break
        plan.append((name, source, field.to_representation))
    if cls.get_fields is not serializers.Serializer.get_fields:
        plan = None
    _PLANS[cls] = plan
    return plan


class ErrorSerializer(serializers.Serializer):  # type: ignore[misc]
    """Every error response: a stable ``code``, a human ``message`` and ``details`` (``field`` and
    ``rule`` for validation errors, with ``errors`` listing each one)."""

    code = serializers.CharField()
    message = serializers.CharField()
    details = serializers.DictField()


def query_data(request: Any) -> dict[str, str]:
    """The query string as a plain dict for a filter serializer: empty values are validated (not
    dropped as in HTML forms) and a parameter given twice is refused (400, rule ``repeated``)."""
    repeated = sorted(key for key, values in request.query_params.lists() if len(values) > 1)
    if repeated:
        raise serializers.ValidationError(
            {key: [ErrorDetail("Give this parameter once.", code="repeated")] for key in repeated}
        )
    return dict(request.query_params.dict())
