"""Benchmark user classes: each does ONE operation, back to back, with no wait (saturation).

Run one class at a time (``loadtests/letsema_load/measure.py`` does, naming the class on Locust's
command line), so a run's totals are that operation's throughput and latencies.

Ceilings, against the ceiling app (``loadtests/ceiling/``, no authentication):
``CeilingConstant`` (GET /constant), ``CeilingRow`` (GET /rows/{id} of 100 000 rows),
``CeilingWrite`` (POST /write: one UPDATE + one INSERT in a transaction).

Letsema operations, against one tenant API (``--host`` is that tenant's URL):
``PostRepayment`` (POST a 5.00 repayment on a random active loan, fresh ``Idempotency-Key``; 201),
``GetLoan`` (GET /loans/{id}/), ``GetLoanSchedule`` (GET /loans/{id}/schedule/), ``GetBorrower``
(GET /borrowers/{id}/), ``ListLoans`` (first page of active loans, default page size),
``CreditReport`` (POST /credit-reports/ for a borrower with an active consent; 201).

Ids come from the JSON file named by ``LETSEMA_BENCH_IDS``::

    {"tenant": "khotso", "credentials": ".../demo-credentials.json",
     "loan_ids": [...active loans...], "borrower_ids": [...],
     "consented_borrower_ids": [...], "consented_national_ids": [...]}

The credit-report API takes a borrower id, so ``CreditReport`` uses ``consented_borrower_ids``
(borrowers of this tenant with a ``credit_sharing`` or ``credit_report`` consent), or
``borrower_ids`` when that key is missing (a borrower without consent is then a failure).

**Tokens.** Each Locust user gets its own OAuth token in ``on_start`` from the tenant's token
endpoint, as a real client does: the payment gateway with the client-credentials grant of
``mpesa-gateway`` (repayments), staff with the password grant of ``letsema-staff-app`` (``officer``).
Those calls go through ``requests``, not through Locust's client, so they are not in the operation's
statistics; a token is fetched again when it is about to expire.

**The window measured** starts when every user of the run is ready (has its token): users that are
ready wait for the others, then all start together, and the run stops ``LETSEMA_MEASURE_SECONDS``
later (``measure.MeasuredWindow``; password grants are slow on purpose).
"""

from __future__ import annotations

import functools
import json
import os
import random
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import requests
from locust import FastHttpUser, constant, events, task
from locust.env import Environment

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ceiling.schema import COUNTERS, ROWS
from letsema_load.measure import MeasuredWindow

IDS_ENV = "LETSEMA_BENCH_IDS"
#: repayment amount: small, so thousands of them never repay a demo loan
REPAYMENT_AMOUNT = "5.00"
#: fetch a new token this many seconds before the current one expires
TOKEN_MARGIN_SECONDS = 60.0
#: a password grant hashes on purpose (PBKDF2); many at once on a busy machine take long
TOKEN_TIMEOUT_SECONDS = 120

WINDOW = MeasuredWindow()


# -- ceilings ----------------------------------------------------------------------------------


class CeilingUser(FastHttpUser):
    abstract = True
    wait_time = constant(0)

    def on_start(self) -> None:
        WINDOW.user_ready(self.environment)
        WINDOW.wait_until_all_ready()


class CeilingConstant(CeilingUser):
    @task
    def constant(self) -> None:
        self.client.get("/constant", name="/constant")


class CeilingRow(CeilingUser):
    @task
    def row(self) -> None:
        self.client.get(f"/rows/{random.randint(1, ROWS)}", name="/rows/{id}")


class CeilingWrite(CeilingUser):
    @task
    def write(self) -> None:
        body = {"counter": random.randint(1, COUNTERS), "amount": REPAYMENT_AMOUNT}
        with self.client.post("/write", json=body, name="/write", catch_response=True) as resp:
            if resp.status_code != 201:
                resp.failure(f"/write: {resp.status_code} {(resp.text or '')[:200]}")


# -- the ids and the tenant --------------------------------------------------------------------


@functools.cache
def bench_ids() -> dict[str, Any]:
    """The ids file (read once per process). Raises SystemExit naming what is missing."""
    path = os.environ.get(IDS_ENV)
    if not path:
        raise SystemExit(f"{IDS_ENV} must name the benchmark ids file (tenant, credentials, loan_ids, ...)")
    data: dict[str, Any] = json.loads(Path(path).read_text())
    for key in ("tenant", "credentials", "loan_ids", "borrower_ids"):
        if not data.get(key):
            raise SystemExit(f"{path}: {key!r} is missing or empty")
    return data


@functools.cache
def tenant_credentials() -> dict[str, Any]:
    """The tenant's entry of the credentials file ``letsema dev up`` writes (URL, users, OAuth clients)."""
    ids = bench_ids()
    credentials: dict[str, Any] = json.loads(Path(ids["credentials"]).read_text())
    if ids["tenant"] not in credentials:
        raise SystemExit(f"tenant {ids['tenant']!r} is not in {ids['credentials']}")
    return dict(credentials[ids["tenant"]])


@events.init.add_listener
def _check_ids(environment: Environment, **_: Any) -> None:
    """Fail at start-up, not in every user, when a tenant class runs without its ids."""
    if any(issubclass(cls, TenantUser) for cls in environment.user_classes):
        bench_ids()
        tenant_credentials()


class TenantUser(FastHttpUser):
    """A user of one tenant API with its own OAuth token (see the module docstring)."""

    abstract = True
    wait_time = constant(0)
    #: "gateway": client credentials of mpesa-gateway; else a staff username (password grant)
    login_as = "officer"

    def on_start(self) -> None:
        self.ids = bench_ids()
        self.tenant = tenant_credentials()
        self._token = ""
        self._expires_at = 0.0
        self._fetch_token()
        WINDOW.user_ready(self.environment)
        WINDOW.wait_until_all_ready()

    def _fetch_token(self) -> None:
        clients = self.tenant["oauth_clients"]
        if self.login_as == "gateway":
            client = clients["mpesa-gateway"]
            data = {"grant_type": "client_credentials"}
        else:
            client = clients["letsema-staff-app"]
            user = self.tenant["users"][self.login_as]
            data = {"grant_type": "password", "username": self.login_as, "password": user["password"]}
        resp = requests.post(
            self.tenant["token_url"],
            data=data,
            auth=(client["client_id"], client["client_secret"]),
            timeout=TOKEN_TIMEOUT_SECONDS,
        )
        if resp.status_code != 200:
            raise RuntimeError(f"token for {self.login_as}: {resp.status_code} {resp.text[:200]}")
        body = resp.json()
        self._token = body["access_token"]
        self._expires_at = time.monotonic() + float(body.get("expires_in", 3600))

    def auth(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        if time.monotonic() > self._expires_at - TOKEN_MARGIN_SECONDS:
            self._fetch_token()
        return {"Authorization": f"Bearer {self._token}", **(extra or {})}

    def get_ok(self, path: str, name: str) -> None:
        with self.client.get(path, headers=self.auth(), name=name, catch_response=True) as resp:
            if resp.status_code != 200:
                resp.failure(f"GET {name}: {resp.status_code} {(resp.text or '')[:200]}")

    def post_created(self, path: str, name: str, body: dict[str, Any], key_prefix: str) -> None:
        headers = self.auth({"Idempotency-Key": f"{key_prefix}-{uuid.uuid4().hex}"})
        with self.client.post(path, json=body, headers=headers, name=name, catch_response=True) as resp:
            if resp.status_code != 201:
                resp.failure(f"POST {name}: {resp.status_code} {(resp.text or '')[:200]}")


# -- Letsema operations ------------------------------------------------------------------------


class PostRepayment(TenantUser):
    login_as = "gateway"

    @task
    def repay(self) -> None:
        loan = random.choice(self.ids["loan_ids"])
        self.post_created(
            f"/api/v1/loans/{loan}/repayments/",
            "/api/v1/loans/{id}/repayments/",
            {"amount": REPAYMENT_AMOUNT},
            "bench-pay",
        )


class GetLoan(TenantUser):
    @task
    def loan(self) -> None:
        self.get_ok(f"/api/v1/loans/{random.choice(self.ids['loan_ids'])}/", "/api/v1/loans/{id}/")


class GetLoanSchedule(TenantUser):
    @task
    def schedule(self) -> None:
        loan = random.choice(self.ids["loan_ids"])
        self.get_ok(f"/api/v1/loans/{loan}/schedule/", "/api/v1/loans/{id}/schedule/")


class GetBorrower(TenantUser):
    @task
    def borrower(self) -> None:
        self.get_ok(f"/api/v1/borrowers/{random.choice(self.ids['borrower_ids'])}/", "/api/v1/borrowers/{id}/")


class ListLoans(TenantUser):
    @task
    def first_page(self) -> None:
        # Default page size (50); one filter, the one a loan officer's screen uses most.
        self.get_ok("/api/v1/loans/?status=active", "/api/v1/loans/?status=active")


class CreditReport(TenantUser):
    @task
    def report(self) -> None:
        borrowers = self.ids.get("consented_borrower_ids") or self.ids["borrower_ids"]
        self.post_created(
            "/api/v1/credit-reports/",
            "/api/v1/credit-reports/",
            {"borrower": random.choice(borrowers), "purpose": "new loan application"},
            "bench-cr",
        )
