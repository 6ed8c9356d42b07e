"""The signed M-Pesa callback over HTTP: signature and timestamp checks, receipts applied as repayments
through the lending service, idempotency by receipt number, and the money that goes to suspense.

The callback carries no OAuth token (payment systems sign instead); the tests sign with the tenant's
webhook key read from OpenBao, computing the HMAC themselves rather than with the code under test.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import uuid
from decimal import Decimal
from typing import Any

import pytest

from tests.integration.test_api_lending_support import (
    approved_loan,
    as_role,
    borrower_id,
    error,
    ok,
    product_id,
)

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("trap_floats")]

__all__ = ["as_role", "borrower_id", "product_id"]  # fixtures

CALLBACK = "/api/v1/payments/mpesa/callback/"
PHONE = "+26658987654"
CASH, SUSPENSE = "1000", "2100"


def receipt_number() -> str:
    return f"QK{uuid.uuid4().hex[:10].upper()}"


class Gateway:
    """The payment system: posts JSON bodies signed with the tenant's webhook key."""

    def __init__(self, key: bytes) -> None:
        from rest_framework.test import APIClient

        self.key = key
        self.client = APIClient(raise_request_exception=False)

    def signature(self, timestamp: str, raw: bytes, *, key: bytes | None = None) -> str:
        digest = hmac.new(key or self.key, timestamp.encode() + b"." + raw, hashlib.sha256).hexdigest()
        return f"sha256={digest}"

    def post_raw(self, raw: bytes, **headers: str) -> Any:
        return self.client.generic("POST", CALLBACK, raw, content_type="application/json", headers=headers)

    def post(self, body: dict[str, Any], *, timestamp: int | None = None, key: bytes | None = None) -> Any:
        raw = json.dumps(body).encode()
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        return self.post_raw(
            raw, **{"X-Letsema-Timestamp": stamp, "X-Letsema-Signature": self.signature(stamp, raw, key=key)}
        )


@pytest.fixture
def gateway(django_api: Any) -> Gateway:
    from letsema_api.vault import get_vault

    return Gateway(get_vault().kv("webhooks")["mpesa_signing_key"].encode())


def payment(reference: str, amount: str, *, number: str | None = None, on: str = "2026-02-05") -> dict[str, Any]:
    return {
        "receipt_number": number or receipt_number(),
        "amount": amount,
        "phone": PHONE,
        "account_reference": reference,
        "transaction_time": f"{on}T10:15:00+02:00",
    }


def loan_transactions(loan_id: str) -> list[tuple[str, str]]:
    from letsema_api.lending.models import LoanTransaction

    return [
        (kind, f"{amount:.2f}")
        for kind, amount in LoanTransaction.objects.filter(loan_id=loan_id)
        .order_by("sequence")
        .values_list("kind", "amount")
    ]


def journal_lines(entry_id: str) -> set[tuple[str, str, str]]:
    from letsema_api.ledger.models import JournalLine

    return {
        (line.account_code, f"{line.debit:.2f}", f"{line.credit:.2f}")
        for line in JournalLine.objects.filter(entry__entry_id=entry_id)
    }


def trial_balance_is_balanced(auditor: Any) -> bool:
    balance = ok(auditor.get("/api/v1/reports/trial-balance/", as_of="2026-11-26"))
    assert balance["total_debits"] == balance["total_credits"]
    return bool(balance["is_balanced"])


class TestSignedReceipts:
    def test_a_signed_receipt_is_recorded_and_allocated_as_a_repayment(
        self, as_role: Any, borrower_id: str, product_id: str, gateway: Gateway
    ) -> None:
        from letsema_api.lending.models import LoanTransaction

        _, _, loan_id = approved_loan(as_role, borrower_id=borrower_id, product_id=product_id)
        body = payment(loan_id, "945.60")
        paid = ok(gateway.post(body), 200)
        assert (paid["status"], paid["loan_id"], paid["amount"], paid["received_on"]) == (
            "applied",
            loan_id,
            "945.60",
            "2026-02-05",
        )
        assert (paid["principal"], paid["interest"], paid["outstanding_principal"]) == ("745.60", "200.00", "9254.40")
        txn = LoanTransaction.objects.get(id=paid["transaction_id"])
        assert (txn.external_ref, txn.idempotency_key) == (body["receipt_number"], f"mpesa:{body['receipt_number']}")

        auditor = as_role("auditor")
        statement = ok(auditor.get(f"/api/v1/loans/{loan_id}/statement/"))
        assert [(line["kind"], line["on"], line["amount"]) for line in statement] == [
            ("disbursement", "2026-01-05", "10000.00"),
            ("repayment", "2026-02-05", "945.60"),
        ]
        assert journal_lines(paid["transaction_id"]) == {
            (CASH, "945.60", "0.00"),
            ("1100", "0.00", "745.60"),
            ("4000", "0.00", "200.00"),
        }
        assert trial_balance_is_balanced(auditor)

    def test_a_receipt_is_audited_as_the_payment_system_with_the_request_id(self, gateway: Gateway) -> None:
        from letsema_api.common.models import AuditEvent

        body = payment("no-such-loan", "12.34")
        raw = json.dumps(body).encode()
        stamp = str(int(time.time()))
        request_id = f"req-{uuid.uuid4().hex}"
        response = gateway.post_raw(
            raw,
            **{
                "X-Letsema-Timestamp": stamp,
                "X-Letsema-Signature": gateway.signature(stamp, raw),
                "X-Request-ID": request_id,
            },
        )
        held = ok(response, 202)
        event = AuditEvent.objects.get(entity="mobile_money_receipt", action="payment.suspense", request_id=request_id)
        assert event.actor == "webhook:mpesa"
        assert event.after is not None
        assert (event.after["receipt_number"], event.after["amount"], event.after["suspense_id"]) == (
            body["receipt_number"],
            "12.34",
            held["suspense_id"],
        )
        assert PHONE[1:] not in json.dumps(event.after)

    def test_an_account_reference_typed_in_capitals_matches_the_loan(
        self, as_role: Any, borrower_id: str, product_id: str, gateway: Gateway
    ) -> None:
        _, _, loan_id = approved_loan(as_role, borrower_id=borrower_id, product_id=product_id)
        paid = ok(gateway.post(payment(f" {loan_id.upper()}", "945.60")), 200)
        assert (paid["status"], paid["loan_id"]) == ("applied", loan_id)

    def test_a_repeated_receipt_gets_the_same_response_and_moves_no_money(
        self, as_role: Any, borrower_id: str, product_id: str, gateway: Gateway
    ) -> None:
        from letsema_api.ledger.models import JournalEntry

        _, _, loan_id = approved_loan(as_role, borrower_id=borrower_id, product_id=product_id)
        body = payment(loan_id, "500.00")
        first = gateway.post(body)
        entries = JournalEntry.objects.count()
        again = gateway.post(body)
        assert (again.status_code, again.json()) == (first.status_code, first.json())
        assert again["Idempotent-Replayed"] == "true"
        assert loan_transactions(loan_id) == [("disbursement", "10000.00"), ("repayment", "500.00")]
        assert JournalEntry.objects.count() == entries

    def test_the_same_receipt_with_another_amount_is_a_conflict(
        self, as_role: Any, borrower_id: str, product_id: str, gateway: Gateway
    ) -> None:
        _, _, loan_id = approved_loan(as_role, borrower_id=borrower_id, product_id=product_id)
        body = payment(loan_id, "500.00")
        ok(gateway.post(body), 200)
        refused = error(gateway.post({**body, "amount": "600.00"}), 409, "receipt_conflict")
        assert refused["details"]["differs"] == {"amount": {"received": "500.00", "now": "600.00"}}
        assert loan_transactions(loan_id) == [("disbursement", "10000.00"), ("repayment", "500.00")]

    def test_the_payer_phone_is_stored_only_as_transit_ciphertext(
        self, as_role: Any, borrower_id: str, product_id: str, gateway: Gateway
    ) -> None:
        from django.db import connection
        from letsema_api.vault import get_vault

        _, _, loan_id = approved_loan(as_role, borrower_id=borrower_id, product_id=product_id)
        body = payment(loan_id, "100.00")
        ok(gateway.post(body), 200)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT * FROM payments_mobilemoneyreceipt WHERE receipt_number = %s", [body["receipt_number"]]
            )
            [row] = cursor.fetchall()
            columns = [c.name for c in cursor.description]
        stored = dict(zip(columns, row, strict=True))
        assert not any(PHONE[1:] in str(value) for value in row)
        assert stored["phone_ciphertext"].startswith("vault:v")
        assert get_vault().decrypt_pii(stored["phone_ciphertext"]) == PHONE


class TestRefusedCallbacks:
    @pytest.mark.parametrize(
        "headers",
        [
            pytest.param("none", id="no-headers"),
            pytest.param("no-signature", id="no-signature"),
            pytest.param("no-timestamp", id="no-timestamp"),
            pytest.param("wrong-key", id="wrong-key"),
            pytest.param("tampered-body", id="tampered-body"),
            pytest.param("not-hex", id="not-hex"),
        ],
    )
    def test_a_missing_or_bad_signature_is_a_401_and_writes_nothing(
        self, as_role: Any, borrower_id: str, product_id: str, gateway: Gateway, headers: str
    ) -> None:
        from letsema_api.common.models import AuditEvent
        from letsema_api.payments.models import MobileMoneyReceipt

        _, _, loan_id = approved_loan(as_role, borrower_id=borrower_id, product_id=product_id)
        body = payment(loan_id, "945.60")
        raw = json.dumps(body).encode()
        stamp = str(int(time.time()))
        good = gateway.signature(stamp, raw)
        sent = {
            "none": {},
            "no-signature": {"X-Letsema-Timestamp": stamp},
            "no-timestamp": {"X-Letsema-Signature": good},
            "wrong-key": {"X-Letsema-Timestamp": stamp, "X-Letsema-Signature": gateway.signature(stamp, raw, key=b"x")},
            "tampered-body": {"X-Letsema-Timestamp": stamp, "X-Letsema-Signature": good},
            "not-hex": {"X-Letsema-Timestamp": stamp, "X-Letsema-Signature": "sha256=ünïcode"},
        }[headers]
        if headers == "tampered-body":
            raw = json.dumps({**body, "amount": "9.00"}).encode()
        audit_before = AuditEvent.objects.count()
        error(gateway.post_raw(raw, **sent), 401, "invalid_signature")
        assert not MobileMoneyReceipt.objects.filter(receipt_number=body["receipt_number"]).exists()
        assert loan_transactions(loan_id) == [("disbursement", "10000.00")]
        assert AuditEvent.objects.count() == audit_before

    @pytest.mark.parametrize("offset", [-301, 301, -3600])
    def test_a_timestamp_more_than_five_minutes_away_is_a_401(
        self, gateway: Gateway, offset: int, as_role: Any, borrower_id: str, product_id: str
    ) -> None:
        from letsema_api.payments.models import MobileMoneyReceipt

        _, _, loan_id = approved_loan(as_role, borrower_id=borrower_id, product_id=product_id)
        body = payment(loan_id, "945.60")
        error(gateway.post(body, timestamp=int(time.time()) + offset), 401, "stale_timestamp")
        assert not MobileMoneyReceipt.objects.filter(receipt_number=body["receipt_number"]).exists()
        assert loan_transactions(loan_id) == [("disbursement", "10000.00")]

    def test_a_timestamp_four_minutes_old_is_accepted(self, gateway: Gateway) -> None:
        accepted = ok(gateway.post(payment("no-such-loan", "10.00"), timestamp=int(time.time()) - 240), 202)
        assert accepted["status"] == "suspense"

    @pytest.mark.parametrize(
        ("change", "field", "rule"),
        [
            ({"amount": 945.6}, "amount", "money_format"),
            ({"amount": "0.00"}, "amount", "min_value"),
            ({"amount": "9.999"}, "amount", "money_format"),
            ({"channel": "x"}, "channel", "unknown_field"),
            ({"phone": "call me"}, "phone", "invalid"),
        ],
    )
    def test_a_signed_but_malformed_body_is_a_400(
        self, gateway: Gateway, change: dict[str, Any], field: str, rule: str
    ) -> None:
        from letsema_api.payments.models import MobileMoneyReceipt

        body = {**payment("no-such-loan", "10.00"), **change}
        refused = error(gateway.post(body), 400, "validation_error")
        assert (refused["details"]["field"], refused["details"]["rule"]) == (field, rule)
        assert not MobileMoneyReceipt.objects.filter(receipt_number=body["receipt_number"]).exists()


class TestSuspense:
    def test_a_receipt_for_an_unknown_account_goes_to_suspense_booked_cash_to_suspense(
        self, as_role: Any, gateway: Gateway
    ) -> None:
        body = payment(f"nope-{uuid.uuid4().hex[:8]}", "250.00")
        held = ok(gateway.post(body), 202)
        assert (held["status"], held["reason"], held["loan_id"], held["payoff_at_receipt"]) == (
            "suspense",
            "unmatched",
            None,
            None,
        )
        assert journal_lines(f"mpesa-{body['receipt_number']}") == {
            (CASH, "250.00", "0.00"),
            (SUSPENSE, "0.00", "250.00"),
        }
        officer = as_role("loan_officer")
        item = ok(officer.get(f"/api/v1/payments/suspense/{held['suspense_id']}/"))
        assert (item["status"], item["amount"], item["receipt_number"], item["account_reference"], item["phone"]) == (
            "open",
            "250.00",
            body["receipt_number"],
            body["account_reference"],
            PHONE,
        )
        listed = ok(officer.get("/api/v1/payments/suspense/", receipt_number=body["receipt_number"]))["results"]
        assert [("phone" in row, row["id"]) for row in listed] == [(False, held["suspense_id"])]
        repeat = gateway.post(body)
        assert (repeat.status_code, repeat.json()) == (202, held)
        assert trial_balance_is_balanced(as_role("auditor"))

    def test_an_amount_above_the_payoff_goes_to_suspense_with_the_payoff(
        self, as_role: Any, borrower_id: str, product_id: str, gateway: Gateway
    ) -> None:
        officer, _, loan_id = approved_loan(as_role, borrower_id=borrower_id, product_id=product_id)
        payoff = ok(officer.get(f"/api/v1/loans/{loan_id}/payoff/", as_of="2026-02-05"))["payoff_amount"]
        above = f"{Decimal(payoff) + Decimal('100.00'):.2f}"
        held = ok(gateway.post(payment(loan_id, above)), 202)
        assert (held["reason"], held["loan_id"], held["payoff_at_receipt"], held["amount"]) == (
            "exceeds_payoff",
            loan_id,
            payoff,
            above,
        )
        assert loan_transactions(loan_id) == [("disbursement", "10000.00")]
        item = ok(officer.get(f"/api/v1/payments/suspense/{held['suspense_id']}/"))
        assert (item["payoff_at_receipt"], item["loan_id"], item["status"]) == (payoff, loan_id, "open")

    def test_a_receipt_for_a_written_off_loan_goes_to_suspense_as_loan_not_active(
        self, as_role: Any, borrower_id: str, product_id: str, gateway: Gateway
    ) -> None:
        _, manager, loan_id = approved_loan(as_role, borrower_id=borrower_id, product_id=product_id)
        ok(manager.post(f"/api/v1/loans/{loan_id}/write-off/", {"on": "2026-09-30"}))
        held = ok(gateway.post(payment(loan_id, "100.00", on="2026-10-02")), 202)
        assert (held["reason"], held["loan_id"], held["payoff_at_receipt"]) == ("loan_not_active", loan_id, "0.00")
        assert [kind for kind, _ in loan_transactions(loan_id)] == ["disbursement", "write_off"]


class TestConcurrentCallbacks:
    @pytest.mark.parametrize("matched", [True, False], ids=["matched", "unmatched"])
    def test_the_same_receipt_twice_at_once_moves_the_money_once(
        self, as_role: Any, borrower_id: str, product_id: str, gateway: Gateway, matched: bool
    ) -> None:
        from letsema_api.ledger.models import JournalEntry
        from letsema_api.payments.models import SuspenseItem

        from tests.integration.test_api_lending_concurrency import in_thread

        _, _, loan_id = approved_loan(as_role, borrower_id=borrower_id, product_id=product_id)
        body = payment(loan_id if matched else f"nope-{uuid.uuid4().hex[:8]}", "945.60")
        start = threading.Barrier(2)
        results: list[Any] = [None, None]

        def send() -> Any:
            sender = Gateway(gateway.key)
            start.wait(10)
            return sender.post(body)

        threads = [in_thread(send, results, 0), in_thread(send, results, 1)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert [r.status_code for r in results] == ([200, 200] if matched else [202, 202])
        assert results[0].json() == results[1].json()
        assert sorted(r.get("Idempotent-Replayed", "") for r in results) == ["", "true"]
        receipt = body["receipt_number"]
        if matched:
            assert loan_transactions(loan_id) == [("disbursement", "10000.00"), ("repayment", "945.60")]
        else:
            assert SuspenseItem.objects.filter(receipt__receipt_number=receipt).count() == 1
            assert JournalEntry.objects.filter(entry_id=f"mpesa-{receipt}").count() == 1


class TestReceiptDates:
    def test_a_payment_dated_before_the_loan_was_disbursed_goes_to_suspense_as_unmatched(
        self, as_role: Any, borrower_id: str, product_id: str, gateway: Gateway
    ) -> None:
        _, _, loan_id = approved_loan(as_role, borrower_id=borrower_id, product_id=product_id)
        held = ok(gateway.post(payment(loan_id, "100.00", on="2026-01-04")), 202)
        assert (held["reason"], held["loan_id"], held["received_on"]) == ("unmatched", loan_id, "2026-01-04")
        assert loan_transactions(loan_id) == [("disbursement", "10000.00")]

    def test_a_transaction_time_in_the_future_is_a_400(self, gateway: Gateway) -> None:
        from datetime import UTC, datetime, timedelta

        from letsema_api.payments.models import MobileMoneyReceipt

        body = payment("no-such-loan", "10.00")
        body["transaction_time"] = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        refused = error(gateway.post(body), 400, "validation_error")
        assert (refused["details"]["field"], refused["details"]["rule"]) == ("transaction_time", "not_in_future")
        assert not MobileMoneyReceipt.objects.filter(receipt_number=body["receipt_number"]).exists()


class TestSchema:
    def test_the_callback_is_documented_as_signed_not_oauth(self, django_api: Any) -> None:
        from rest_framework.test import APIClient

        schema = json.loads(APIClient().get("/api/schema/", {"format": "json"}).content)
        callback = schema["paths"][CALLBACK]["post"]
        # No OAuth token is asked for: neither the operation nor the document requires one.
        assert "security" not in callback
        assert "security" not in schema
        headers = {p["name"]: p["required"] for p in callback["parameters"] if p["in"] == "header"}
        assert headers == {"X-Letsema-Timestamp": True, "X-Letsema-Signature": True}
        assert {"200", "202", "401", "409"} <= set(callback["responses"])
        resolve = schema["paths"]["/api/v1/payments/suspense/{item_id}/resolve/"]["post"]
        assert resolve["security"] == [{"oauth2": ["write"]}]


class TestOverTheWire:
    def test_a_callback_signed_over_the_exact_bytes_sent_is_accepted_by_the_served_api(
        self, live_api: Any, gateway: Gateway, as_role: Any, borrower_id: str, product_id: str
    ) -> None:
        import requests

        _, _, loan_id = approved_loan(as_role, borrower_id=borrower_id, product_id=product_id)
        # Unusual but valid JSON spacing: the signature covers the bytes, not a re-serialisation.
        raw = json.dumps(payment(loan_id, "945.60"), indent=3).encode()
        stamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "X-Letsema-Timestamp": stamp,
            "X-Letsema-Signature": gateway.signature(stamp, raw),
        }
        paid = requests.post(f"{live_api.url}{CALLBACK}", data=raw, headers=headers, timeout=30)
        assert paid.status_code == 200, paid.text
        assert (paid.json()["status"], paid.json()["loan_id"]) == ("applied", loan_id)
        compact = json.dumps(json.loads(raw)).encode()
        refused = requests.post(f"{live_api.url}{CALLBACK}", data=compact, headers=headers, timeout=30)
        assert (refused.status_code, refused.json()["code"]) == (401, "invalid_signature")
