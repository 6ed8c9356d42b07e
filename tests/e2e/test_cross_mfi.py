"""Two MFIs on one shared registry, through HTTP, on the local platform as ``make run`` starts it.

First the whole lending journey at one MFI (register, consent, verify, quote, apply, assess, approve
by another user, disburse, repay twice with a repeated Idempotency-Key, reverse one, statement and
schedule, close of business, PAR report). Then the cross-MFI view:

Khotso Microfinance lends twice to a borrower; the relay publishes the loans to the registry;
Tšepo Credit, holding the same national ID, pulls a report that shows Khotso's active loans and
the ``ACTIVE_LOANS_ELSEWHERE`` flag; the inquiry then shows in the borrower's own credit file at
Khotso. Every call goes over HTTP with OAuth tokens obtained as a real client would.
"""

from __future__ import annotations

import json
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests

from letsema_dev.testing import run_letsema

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

NATIONAL_ID_MASK_TAIL = "0501"  # seed_demo's "Palesa Mokoena", 010203040501, at both tenants


class Tenant:
    def __init__(self, tenant_id: str, info: dict[str, Any], env: dict[str, str]) -> None:
        self.tenant_id = tenant_id
        self.env = env
        self.info = info
        self.url = info["url"]
        self._tokens: dict[str, str] = {}

    def token(self, username: str) -> str:
        if username not in self._tokens:
            client = self.info["oauth_clients"]["letsema-staff-app"]
            resp = requests.post(
                self.info["token_url"],
                data={
                    "grant_type": "password",
                    "username": username,
                    "password": self.info["users"][username]["password"],
                },
                auth=(client["client_id"], client["client_secret"]),
                timeout=30,
            )
            assert resp.status_code == 200, resp.text
            self._tokens[username] = resp.json()["access_token"]
        return self._tokens[username]

    def call(self, method: str, path: str, user: str, body: Any = None, **headers: str) -> requests.Response:
        hdrs = {"Authorization": f"Bearer {self.token(user)}", **headers}
        return requests.request(method, f"{self.url}{path}", json=body, headers=hdrs, timeout=60)

    def ok(self, method: str, path: str, user: str, body: Any = None, **headers: str) -> Any:
        resp = self.call(method, path, user, body, **headers)
        assert resp.status_code in (200, 201), f"{method} {path} as {user}: {resp.status_code} {resp.text}"
        return resp.json()

    def manage(self, *args: str) -> str:
        """A management command for this tenant, as ``letsema dev manage`` runs it."""
        done = run_letsema(self.env, "dev", "manage", self.tenant_id, *args)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def borrower_with_nid_tail(self, tail: str) -> str:
        page = self.ok("GET", "/api/v1/borrowers/?page_size=100", "officer")
        for row in page["results"]:
            if any(ident.get("masked", "").endswith(tail) for ident in row.get("identifiers", [])):
                return str(row["id"])
        raise AssertionError(f"no seeded borrower with an ID ending {tail}: {page}")


@pytest.fixture(scope="module")
def tenants(demo_platform: dict[str, str]) -> tuple[Tenant, Tenant]:
    env = demo_platform
    creds = json.loads((Path(env["LETSEMA_STATE_DIR"]) / "demo-credentials.json").read_text())
    return Tenant("khotso", creds["khotso"], env), Tenant("tsepo", creds["tsepo"], env)


def _disburse_loan(tenant: Tenant, borrower_id: str, product_id: str) -> str:
    app = tenant.ok(
        "POST",
        "/api/v1/loan-applications/",
        "officer",
        {"borrower_id": borrower_id, "product_id": product_id, "principal": "10000.00", "term_in_periods": 12},
    )
    app_id = app["id"]
    tenant.ok("POST", f"/api/v1/loan-applications/{app_id}/submit/", "officer", {})
    tenant.ok("POST", f"/api/v1/loan-applications/{app_id}/assess/", "officer", {})
    # Maker-checker: the officer who applied may not approve; the branch manager does.
    refused = tenant.call("POST", f"/api/v1/loan-applications/{app_id}/approve/", "officer", {})
    assert refused.status_code == 403
    tenant.ok("POST", f"/api/v1/loan-applications/{app_id}/approve/", "manager", {})
    loan = tenant.ok(
        "POST", f"/api/v1/loan-applications/{app_id}/disburse/", "manager", {}, **{"Idempotency-Key": str(uuid.uuid4())}
    )
    return str(loan.get("loan_id") or loan.get("id"))


class TestLendingJourney:
    def test_one_borrower_from_registration_to_the_par_report(self, tenants: tuple[Tenant, Tenant]) -> None:
        khotso, _ = tenants
        key = {"Idempotency-Key": str(uuid.uuid4())}
        borrower = khotso.ok(
            "POST",
            "/api/v1/borrowers/",
            "officer",
            {
                "first_name": "Mpho",
                "last_name": "Nthako",
                "date_of_birth": "1990-02-11",
                "district": "maseru",
                "phone": "58123456",
                "monthly_income": "12000.00",
                "identifiers": [{"type": "lesotho_national_id", "value": "0909 0808 0707"}],
            },
            **key,
        )
        borrower_id = borrower["id"]
        # The national ID went in with spaces; only a masked form ever comes back.
        assert [i["masked"][-4:] for i in borrower["identifiers"]] == ["0707"]
        khotso.ok(
            "POST",
            f"/api/v1/borrowers/{borrower_id}/consents/",
            "officer",
            {"purpose": "credit_sharing", "method": "written", "reference": "E2E-CONSENT-1"},
            **{"Idempotency-Key": str(uuid.uuid4())},
        )
        verified = khotso.ok("POST", f"/api/v1/borrowers/{borrower_id}/verify/", "officer", {})
        assert verified["result"] == "verified", verified

        products = khotso.ok("GET", "/api/v1/loan-products/", "officer")["results"]
        product = next(p["id"] for p in products if p["code"] == "BIZ-MONTHLY")
        quote = khotso.ok(
            "POST",
            "/api/v1/loan-quotes/",
            "officer",
            {"product": product, "principal": "10000.00", "term_in_periods": 12, "disbursement_date": "2026-01-05"},
        )
        kfs = quote["key_facts"]
        assert (kfs["installment_amount"], kfs["total_interest"], kfs["total_fees"]) == ("945.60", "1347.15", "200.00")
        assert kfs["net_disbursed"] == "9800.00"

        app = khotso.ok(
            "POST",
            "/api/v1/loan-applications/",
            "officer",
            {"borrower_id": borrower_id, "product_id": product, "principal": "10000.00", "term_in_periods": 12},
        )
        app_id = app["id"]
        khotso.ok("POST", f"/api/v1/loan-applications/{app_id}/submit/", "officer", {})
        assessed = khotso.ok("POST", f"/api/v1/loan-applications/{app_id}/assess/", "officer", {})
        assert assessed["assessment"]["new_monthly_installment"] == "945.60"
        assert khotso.call("POST", f"/api/v1/loan-applications/{app_id}/approve/", "officer", {}).status_code == 403
        khotso.ok("POST", f"/api/v1/loan-applications/{app_id}/approve/", "manager", {})
        loan = khotso.ok(
            "POST", f"/api/v1/loan-applications/{app_id}/disburse/", "officer", {"disbursed_on": "2026-01-05"}
        )
        loan_id = loan["id"]
        schedule = khotso.ok("GET", f"/api/v1/loans/{loan_id}/schedule/", "officer")
        assert [i["total_due"] for i in schedule] == ["945.60"] * 11 + ["945.55"]

        pay = f"/api/v1/loans/{loan_id}/repayments/"
        first_key = {"Idempotency-Key": f"e2e-{uuid.uuid4()}"}
        first = khotso.ok("POST", pay, "officer", {"amount": "945.60", "on": "2026-02-05"}, **first_key)
        replay = khotso.call("POST", pay, "officer", {"amount": "945.60", "on": "2026-02-05"}, **first_key)
        assert (replay.status_code, replay.json()) == (201, first)
        second = khotso.ok(
            "POST",
            pay,
            "officer",
            {"amount": "945.60", "on": "2026-03-05"},
            **{"Idempotency-Key": f"e2e-{uuid.uuid4()}"},
        )
        assert (first["outstanding_principal"], second["outstanding_principal"]) == ("9254.40", "8493.89")
        khotso.ok("POST", f"/api/v1/repayments/{second['id']}/reverse/", "officer", {"on": "2026-03-06"})

        statement = khotso.ok("GET", f"/api/v1/loans/{loan_id}/statement/", "officer")
        assert [(s["kind"], s["amount"], s["reversed"]) for s in statement] == [
            ("disbursement", "10000.00", False),
            ("repayment", "945.60", False),
            ("repayment", "945.60", True),
            ("repayment_reversal", "945.60", False),
        ]

        # Close of business for 2026-03-10, as the daily job would run it (twice: the second changes nothing).
        khotso.manage("close_of_business", "--as-of", "2026-03-10", "--no-progress")
        after = khotso.ok("GET", f"/api/v1/loans/{loan_id}/", "officer")
        khotso.manage("close_of_business", "--as-of", "2026-03-10", "--no-progress")
        assert khotso.ok("GET", f"/api/v1/loans/{loan_id}/", "officer") == after
        assert (after["days_past_due"], after["arrears_bucket"]) == (5, "1-30")

        par = khotso.ok("GET", f"/api/v1/reports/par/?as_of=2026-03-10&product={product}", "manager")
        assert Decimal(par["par30"]["at_risk"]) == Decimal("0.00")  # 5 days late is not yet at risk
        assert Decimal(par["total_outstanding"]) >= Decimal("9254.40")


class TestCrossMfi:
    def test_a_second_mfi_sees_the_first_mfis_loans_and_the_inquiry_reaches_the_borrower(
        self, tenants: tuple[Tenant, Tenant]
    ) -> None:
        khotso, tsepo = tenants
        borrower_k = khotso.borrower_with_nid_tail(NATIONAL_ID_MASK_TAIL)
        products = khotso.ok("GET", "/api/v1/loan-products/", "officer")["results"]
        product = next(p["id"] for p in products if p["code"] == "BIZ-MONTHLY")
        loans = [_disburse_loan(khotso, borrower_k, product) for _ in range(2)]
        assert len(set(loans)) == 2

        # The relay (a process of the local platform) publishes the outbox; poll Tšepo's view.
        borrower_t = tsepo.borrower_with_nid_tail(NATIONAL_ID_MASK_TAIL)
        deadline = time.monotonic() + 60
        report: dict[str, Any] = {}
        while time.monotonic() < deadline:
            pulled = tsepo.ok(
                "POST",
                "/api/v1/credit-reports/",
                "officer",
                {"borrower": borrower_t, "purpose": "new loan application"},
                **{"Idempotency-Key": str(uuid.uuid4())},
            )
            report = pulled["report"]
            if report["totals"]["active_loans"] >= 2:
                break
            time.sleep(1)
        khotso_accounts = [a for a in report["accounts"] if a["lender_mfi"] == "khotso"]
        assert len(khotso_accounts) == 2, report
        assert all(a["principal"] == "10000.00" for a in khotso_accounts)
        assert report["active_loans_elsewhere"] == 2
        assert "ACTIVE_LOANS_ELSEWHERE" in {f["code"] for f in report["flags"]}

        # The borrower's own credit file, at Khotso, lists Tšepo's inquiry.
        credit_file = khotso.ok("GET", f"/api/v1/borrowers/{borrower_k}/credit-file/", "officer")
        assert "tsepo" in {i["lender_mfi"] for i in credit_file["inquiries"]}, credit_file


class TestReplicaLoss:
    def test_reports_and_lists_still_answer_when_the_replica_is_killed(self, tenants: tuple[Tenant, Tenant]) -> None:
        from letsema_dev.services.postgres import PostgresServer

        khotso, _ = tenants
        before = khotso.ok("GET", "/api/v1/reports/ageing/?as_of=2026-03-10", "manager")
        replica = PostgresServer(
            base_dir=Path(khotso.env["LETSEMA_STATE_DIR"]) / "pg-replica",
            port=int(khotso.env["LETSEMA_PG_REPLICA_PORT"]),
        )
        replica.stop(mode="immediate")  # as abrupt as a crash: no checkpoint, clients cut off
        try:
            for report in ("ageing", "par", "portfolio"):
                resp = khotso.call("GET", f"/api/v1/reports/{report}/?as_of=2026-03-10", "manager")
                assert resp.status_code == 200, f"{report}: {resp.status_code} {resp.text}"
            assert khotso.ok("GET", "/api/v1/reports/ageing/?as_of=2026-03-10", "manager") == before
            for listing in ("/api/v1/audit-events/", "/api/v1/users/"):  # lists that prefer the replica too
                resp = khotso.call("GET", listing, "auditor")
                assert resp.status_code == 200, f"{listing}: {resp.status_code} {resp.text}"
            ready = requests.get(f"{khotso.url}/readyz", timeout=30).json()
            assert ready["replica"]["healthy"] is False
        finally:
            up = run_letsema(khotso.env, "dev", "up")
            assert up.returncode == 0, up.stdout + up.stderr
