"""The path converter of entity ids in this project's URLs (``<ref:borrower_id>``).

Ids are UUIDs for everything the API creates, or short codes (letters, digits, ``-``, ``_``, ``.``)
elsewhere; anything else (a NUL byte, a slash, 200 characters) cannot name an entity, so it is a 404
before any query runs. Registered once, when this module is first imported.
"""

from __future__ import annotations

from django.urls import register_converter

ID_PATTERN = r"[A-Za-z0-9._-]{1,64}"


class EntityIdConverter:
    regex = ID_PATTERN

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(EntityIdConverter, "ref")
