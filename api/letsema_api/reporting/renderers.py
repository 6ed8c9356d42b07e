"""Reports as CSV: ``?format=csv`` (or ``Accept: text/csv``) through DRF's content negotiation.

The API answers with the same data as in JSON; the view turns it into a table (``csv_table``) and the
renderer writes it with a header row and a ``Content-Disposition`` filename. Errors are always JSON
(``ReportApiBase.finalize_response``), whatever format was asked for.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer


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
        writer.writerows(rows)
        response = context.get("response")
        if response is not None:
            response["Content-Disposition"] = f'attachment; filename="{view.csv_filename(data)}"'
        return out.getvalue().encode(self.charset)


class StrictFormatNegotiation(DefaultContentNegotiation):  # type: ignore[misc]
    """An unknown ``?format=`` is a 406 ``not_acceptable`` naming the formats offered, not a 404."""

    def filter_renderers(self, renderers: list[BaseRenderer], format: str) -> list[BaseRenderer]:
        chosen = [r for r in renderers if r.format == format]
        if not chosen:
            offered = ", ".join(r.format for r in renderers)
            raise NotAcceptable(f"format must be one of: {offered}")
        return chosen
