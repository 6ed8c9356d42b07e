from __future__ import annotations

from rest_framework import serializers
from rest_framework.pagination import PageNumberPagination


class Pagination(PageNumberPagination):  # type: ignore[misc]
    """``?page=`` and ``?page_size=`` (at most 200); responses ``{count, next, previous, results}``."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


def paginated(child: type[serializers.Serializer], *, name: str) -> type[serializers.Serializer]:
    """The response serializer of a paginated list of ``child`` (for ``extend_schema(responses=...)``):
    ``{count, next, previous, results: [child]}``; its OpenAPI component is named ``name``."""
    fields = {
        "count": serializers.IntegerField(),
        "next": serializers.URLField(allow_null=True),
        "previous": serializers.URLField(allow_null=True),
        "results": child(many=True),
        "__module__": __name__,
    }
    return type(f"{name}Serializer", (serializers.Serializer,), fields)
