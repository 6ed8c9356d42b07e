"""The three ceiling endpoints: the least a DRF endpoint of each kind does."""

from __future__ import annotations

from django.db import transaction
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ceiling.models import Counter, Event, Row
from ceiling.schema import COUNTERS


def healthz(request: HttpRequest) -> HttpResponse:
    """Plain Django, no database: for the start-up wait only."""
    return HttpResponse(b"ok", content_type="text/plain")


class ConstantApi(APIView):
    """GET: a constant body. What DRF, Django and gunicorn cost without any database work."""

    def get(self, request: Request) -> Response:
        return Response({"ok": True})


class RowOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Row
        fields = ("id", "borrower_name", "district", "principal", "opened_on")


class RowApi(APIView):
    """GET: one row by primary key, through a serializer (the shape of every detail endpoint)."""

    def get(self, request: Request, row_id: int) -> Response:
        return Response(RowOutputSerializer(get_object_or_404(Row, pk=row_id)).data)


class WriteInputSerializer(serializers.Serializer):
    counter = serializers.IntegerField(min_value=1, max_value=COUNTERS)
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0)


class WriteApi(APIView):
    """POST: one UPDATE of a counter and one INSERT of an event, in one transaction; 201.

    The shape of a repayment without its business rules (a balance changes, a row is added).
    """

    def post(self, request: Request) -> Response:
        data = WriteInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        counter, amount = data.validated_data["counter"], data.validated_data["amount"]
        # ATOMIC_REQUESTS already wraps the request; the explicit block keeps the transaction
        # visible here and holds if that setting ever changes.
        with transaction.atomic():
            Counter.objects.filter(pk=counter).update(value=F("value") + 1, amount_total=F("amount_total") + amount)
            event = Event.objects.create(counter_id=counter, amount=amount, created_at=timezone.now())
        return Response({"id": event.id}, status=201)
