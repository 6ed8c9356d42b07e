"""Models over the tables of ``schema.py`` (unmanaged: the tables are created by SQL)."""

from __future__ import annotations

from django.db import models


class Row(models.Model):
    id = models.BigIntegerField(primary_key=True)
    borrower_name = models.CharField(max_length=100)
    district = models.CharField(max_length=20)
    principal = models.DecimalField(max_digits=14, decimal_places=2)
    opened_on = models.DateField()

    class Meta:
        managed = False
        db_table = "ceiling_row"


class Counter(models.Model):
    id = models.BigIntegerField(primary_key=True)
    value = models.BigIntegerField()
    amount_total = models.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        managed = False
        db_table = "ceiling_counter"


class Event(models.Model):
    id = models.BigAutoField(primary_key=True)
    counter_id = models.BigIntegerField()
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    created_at = models.DateTimeField()

    class Meta:
        managed = False
        db_table = "ceiling_event"
