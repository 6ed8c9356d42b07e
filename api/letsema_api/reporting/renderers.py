"""Reports as CSV: ``?format=csv`` (or ``Accept: text/csv``) through DRF's content negotiation.

The API answers with the same data as in JSON; the view turns it into a table (``csv_table``) and the
renderer writes it with a header row and a ``Content-Disposition`` filename. Errors are always JSON
(``ReportApiBase.finalize_response``), whatever format was asked for.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal, InvalidOperation
from typing import Any

from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer

from letsema_core.errors import ValidationError


class CsvRenderer(BaseRenderer):  # type: ignore[misc]
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: dict[str, Any] | None = None
    ) -> bytes:
        context = renderer_context or {}
        view = context["view"]
        header, rows = view.csv_table(data)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(header)
        writer.writerows([safe_cell(cell) for cell in row] for row in rows)
        response = context.get("response")
        if response is not None:
            response["Content-Disposition"] = f'attachment; filename="{view.csv_filename(data)}"'
        return out.getvalue().encode(self.charset)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula (``=HYPERLINK(...)`` as a product name) gets a
    leading apostrophe (OWASP, CSV injection); numbers, negative amounts included, stay as they are."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        try:
            Decimal(value)
        except InvalidOperation:
            return "'" + value
    return value


class StrictFormatNegotiation(DefaultContentNegotiation):  # type: ignore[misc]
    """An unknown ``?format=`` is a 400 naming the parameter and the formats offered (DRF: a bare 404).
    An ``Accept`` header nothing satisfies stays DRF's 406."""

    def filter_renderers(self, renderers: list[BaseRenderer], format: str) -> list[BaseRenderer]:
        chosen = [r for r in renderers if r.format == format]
        if not chosen:
            offered = ", ".join(r.format for r in renderers)
            raise ValidationError(f"format must be one of: {offered}", field="format", rule="invalid_choice")
        return chosen
