"""The two ways the API pages its lists.

- ``CursorPagination`` — the large collections (loans, loan applications, borrowers, journal entries, the
  audit trail, suspense items): ``?cursor=`` and ``?page_size=``; responses ``{next, previous, results}``.
  No ``count``: counting a million active loans cost more than the page itself on every request.
- ``Pagination`` — the small ones (users, loan products, disputes): ``?page=`` and ``?page_size=``;
  responses ``{count, next, previous, results}``.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q, QuerySet
from rest_framework import serializers
from rest_framework.pagination import BasePagination, PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from letsema_core.errors import ValidationError

MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 50


class Pagination(PageNumberPagination):  # type: ignore[misc]
    """``?page=`` and ``?page_size=`` (at most 200); responses ``{count, next, previous, results}``.
    For the small collections only: the count is a ``count(*)`` of the filtered rows."""

    page_size = DEFAULT_PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE


@dataclass(frozen=True)
class Cursor:
    """A position in a list: the ordering key of one row, and which side of it the page lies on."""

    after: bool  # True: the rows that come after ``key`` (``next``); False: those before it (``previous``)
    key: tuple[Any, ...]


def _jsonable(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _beyond(fields: Sequence[str], values: Sequence[Any], op: str) -> Q:
    """Rows strictly beyond ``values`` in the order of ``fields`` (``op`` ``lt`` or ``gt``), written so the
    first field is a range condition an index on ``fields`` starts its scan from:
    ``a <= x AND (a < x OR (b <= y AND (b < y OR ...)))``."""
    first, value = fields[0], values[0]
    if len(fields) == 1:
        return Q(**{f"{first}__{op}": value})
    return Q(**{f"{first}__{op}e": value}) & (Q(**{f"{first}__{op}": value}) | _beyond(fields[1:], values[1:], op))


class CursorPagination(BasePagination):  # type: ignore[misc]
    """Keyset ("cursor") pagination over the queryset's own ``order_by``.

    The ordering must be plain fields of the model, all descending or all ascending, the last one unique
    (``("-disbursed_on", "-id")``); an index on those fields (after the equality filters a list takes) serves
    every page, however deep, with one range scan: the cursor carries the key of the row the page starts
    beyond, never an offset. ``next`` / ``previous`` are links with an opaque ``cursor``; a cursor this
    API did not give, or a bad ``page_size``, is a 400 naming the parameter.
    """

    cursor_query_param = "cursor"
    page_size_query_param = "page_size"
    page_size = DEFAULT_PAGE_SIZE
    max_page_size = MAX_PAGE_SIZE

    def __init__(self) -> None:
        self.request: Request | None = None
        self.next_key: tuple[Any, ...] | None = None
        self.previous_key: tuple[Any, ...] | None = None

    # -- query parameters ------------------------------------------------------------------
    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not raw.isdigit() or not 1 <= int(raw) <= self.max_page_size:
            raise ValidationError(
                f"page_size must be a whole number from 1 up to {self.max_page_size}",
                field=self.page_size_query_param,
                rule="positive_integer",
            )
        return int(raw)

    def decode_cursor(self, request: Request, fields: Sequence[str], model: Any) -> Cursor | None:
        raw = request.query_params.get(self.cursor_query_param)
        if not raw:  # absent or empty (``?cursor=``): the first page
            return None
        invalid = ValidationError(
            "cursor is not one this list gave (follow the next and previous links)",
            field=self.cursor_query_param,
            rule="invalid",
        )
        try:
            data = json.loads(base64.urlsafe_b64decode(raw.encode("ascii") + b"=" * (-len(raw) % 4)))
        except (ValueError, UnicodeError, binascii.Error):
            raise invalid from None
        if (
            not isinstance(data, dict)
            or data.get("d") not in ("n", "p")
            or not isinstance(data.get("k"), list)
            or len(data["k"]) != len(fields)
        ):
            raise invalid
        key = []
        for name, value in zip(fields, data["k"], strict=True):
            if not isinstance(value, (str, int)) or isinstance(value, bool):
                raise invalid
            try:
                key.append(model._meta.get_field(name).to_python(value))
            except (DjangoValidationError, FieldDoesNotExist, ValueError, TypeError):
                raise invalid from None
        return Cursor(after=data["d"] == "n", key=tuple(key))

    @staticmethod
    def encode_cursor(cursor: Cursor) -> str:
        payload = json.dumps({"d": "n" if cursor.after else "p", "k": [_jsonable(v) for v in cursor.key]})
        return base64.urlsafe_b64encode(payload.encode("utf-8")).decode("ascii").rstrip("=")

    # -- paging ----------------------------------------------------------------------------
    @staticmethod
    def ordering_of(queryset: QuerySet[Any]) -> tuple[tuple[str, ...], bool]:
        """The ordering fields (without ``-``) and whether they are descending. Raises ``ValueError``
        (a programming error) when the queryset's ordering cannot be paged by key."""
        order_by = [str(o) for o in queryset.query.order_by]
        if not order_by or not all(o.lstrip("-").isidentifier() for o in order_by):
            raise ValueError(f"cursor pagination needs an order_by of plain fields, not {order_by!r}")
        descending = {o.startswith("-") for o in order_by}
        if len(descending) != 1:
            raise ValueError(f"cursor pagination needs every field ordered the same way: {order_by!r}")
        fields = tuple("pk" if o.lstrip("-") == "pk" else o.lstrip("-") for o in order_by)
        return fields, descending.pop()

    def paginate_queryset(self, queryset: QuerySet[Any], request: Request, view: Any = None) -> list[Any]:
        self.request = request
        page_size = self.get_page_size(request)
        fields, descending = self.ordering_of(queryset)
        lookups = tuple(queryset.model._meta.pk.name if f == "pk" else f for f in fields)
        cursor = self.decode_cursor(request, lookups, queryset.model)
        if cursor is None:
            rows = list(queryset[: page_size + 1])
            page, more = rows[:page_size], len(rows) > page_size
            has_next, has_previous = more, False
        elif cursor.after:
            rows = list(queryset.filter(_beyond(lookups, cursor.key, "lt" if descending else "gt"))[: page_size + 1])
            page, more = rows[:page_size], len(rows) > page_size
            has_next, has_previous = more, bool(page)
        else:
            before = queryset.filter(_beyond(lookups, cursor.key, "gt" if descending else "lt")).reverse()
            rows = list(before[: page_size + 1])
            page, more = rows[:page_size][::-1], len(rows) > page_size
            has_next, has_previous = bool(page), more
        self.next_key = self._key(page[-1], lookups) if has_next else None
        self.previous_key = self._key(page[0], lookups) if has_previous else None
        return page

    @staticmethod
    def _key(row: Any, lookups: Sequence[str]) -> tuple[Any, ...]:
        return tuple(getattr(row, name) for name in lookups)

    def _link(self, key: tuple[Any, ...] | None, *, after: bool) -> str | None:
        if key is None or self.request is None:
            return None
        url = self.request.build_absolute_uri()
        link: str = replace_query_param(url, self.cursor_query_param, self.encode_cursor(Cursor(after=after, key=key)))
        return link

    def get_next_link(self) -> str | None:
        return self._link(self.next_key, after=True)

    def get_previous_link(self) -> str | None:
        return self._link(self.previous_key, after=False)

    def get_paginated_response(self, data: Any) -> Response:
        return Response({"next": self.get_next_link(), "previous": self.get_previous_link(), "results": data})

    # -- OpenAPI (drf-spectacular asks the view's pagination_class) ---------------------------
    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        link = {"type": "string", "nullable": True, "format": "uri"}
        return {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {"next": link, "previous": link, "results": schema},
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "Where the page starts: the cursor of a next or previous link (opaque).",
                "schema": {"type": "string"},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": f"Rows per page (default {self.page_size}).",
                "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size},
            },
        ]


def paginated(child: type[serializers.Serializer], *, name: str) -> type[serializers.Serializer]:
    """The response serializer of a page-number list of ``child`` (for ``extend_schema(responses=...)``):
    ``{count, next, previous, results: [child]}``; its OpenAPI component is named ``name``."""
    fields = {
        "count": serializers.IntegerField(),
        "next": serializers.URLField(allow_null=True),
        "previous": serializers.URLField(allow_null=True),
        "results": child(many=True),
        "__module__": __name__,
    }
    return type(f"{name}Serializer", (serializers.Serializer,), fields)


def cursor_paginated(child: type[serializers.Serializer], *, name: str) -> type[serializers.Serializer]:
    """The response serializer of a cursor-paged list of ``child``: ``{next, previous, results: [child]}``
    (``next``/``previous`` null at either end); its OpenAPI component is named ``name``."""
    fields = {
        "next": serializers.URLField(allow_null=True, help_text="the following page; null on the last"),
        "previous": serializers.URLField(allow_null=True, help_text="the page before; null on the first"),
        "results": child(many=True),
        "__module__": __name__,
    }
    return type(f"{name}Serializer", (serializers.Serializer,), fields)
