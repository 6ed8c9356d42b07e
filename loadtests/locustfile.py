"""Letsema load suites: the platform's real users, over HTTP, with OAuth as real clients get it.

User classes (weights in brackets): LoanOfficer (4) onboards borrowers and takes applications to
assessment; BranchManager (2) approves and disburses what officers assessed (never its own);
PaymentGateway (3) posts repayments with Idempotency-Keys (retrying a "timed out" call with the same
key) and signed M-Pesa callbacks (some repeated); Analyst (1) reads reports and list pages;
CrossMfiInquirer (1) pulls credit reports at another MFI for borrowers known at both.

    locust -f loadtests/locustfile.py --headless -u 10 -r 5 -t 30s --json-file out.json
    locust -f loadtests/locustfile.py --credentials path/to/demo-credentials.json --tenants khotso,tsepo

Opt-in for fault drills (``loadtests/drills.py``): ``--ack-log PATH`` appends one JSON line per repayment
the API acknowledged, and ``--retry-failed-payments`` retries a payment that got no answer or a 5xx once,
with the same Idempotency-Key or receipt number, as a payment system does.

See loadtests/README.md.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import string
import sys
import time
import uuid
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from locust import HttpUser, between, events, tag, task
from locust.env import Environment

sys.path.insert(0, str(Path(__file__).resolve().parent))

from letsema_load.platform import DEFAULT_CREDENTIALS, Tenant, load_tenants

MASERU = ZoneInfo("Africa/Maseru")
DISTRICTS = ["berea", "butha_buthe", "leribe", "mafeteng", "maseru", "mohales_hoek"]
FIRST = ["Mpho", "Palesa", "Thabo", "Lineo", "Teboho", "Lerato", "Tumelo", "Nthabiseng"]
LAST = ["Mokoena", "Nthako", "Mohapi", "Letsie", "Sekhonyana", "Molapo", "Ramakau", "Khanyapa"]
#: refresh a token this many seconds before it expires
TOKEN_MARGIN = 60.0

TENANTS: dict[str, Tenant] = {}


@events.init_command_line_parser.add_listener
def _add_arguments(parser: Any) -> None:
    parser.add_argument(
        "--credentials",
        default=DEFAULT_CREDENTIALS,
        help="demo-credentials.json written by `letsema dev up` (users, OAuth clients, tenant URLs)",
    )
    parser.add_argument(
        "--class-stats-file",
        default="",
        help="write {user class: {requests, failures}} as JSON here when the run ends (this process only)",
    )
    parser.add_argument(
        "--tenants", default="", help="comma-separated tenant ids to load (default: all; --host narrows to one)"
    )
    parser.add_argument(
        "--ack-log",
        default="",
        help="append one JSON line per acknowledged repayment or M-Pesa callback here (fault drills; this process)",
    )
    parser.add_argument(
        "--retry-failed-payments",
        action="store_true",
        default=False,
        help="retry a repayment or callback that got no answer or a 5xx once, with the same key or receipt",
    )


@events.init.add_listener
def _load_platform(environment: Environment, **_: Any) -> None:
    opts = environment.parsed_options
    if opts is None:
        return
    only = [t for t in opts.tenants.split(",") if t] or None
    TENANTS.clear()
    TENANTS.update(load_tenants(Path(opts.credentials), only))
    if not TENANTS:
        raise SystemExit(f"no tenant to load in {opts.credentials}")
    first = next(iter(TENANTS.values())).url
    for user_class in (LoanOfficer, BranchManager, PaymentGateway, Analyst, CrossMfiInquirer):
        user_class.host = first
    ACKS.open(opts.ack_log or None)
    PaymentGateway.retry_failed = bool(opts.retry_failed_payments)


class AckLog:
    """Acknowledged repayments, one JSON line each, flushed per line (the process may be killed mid-run).

    A repayment is acknowledged when the API answered 201/200 to a POST with an Idempotency-Key; an
    M-Pesa receipt when the signed callback answered 200 ``applied`` (or 202 ``suspense``: money taken,
    not applied). Replays of the same key or receipt write another line with the answer they got; the
    reader dedupes by key and flags a key answered with two transaction ids.
    """

    def __init__(self) -> None:
        self._fh: Any = None

    def open(self, path: str | None) -> None:
        self.close()
        if path:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(path, "a", buffering=1, encoding="utf-8")  # noqa: SIM115 - open for the whole run

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def record(self, **fields: Any) -> None:
        if self._fh is None:
            return
        self._fh.write(json.dumps({**fields, "t": round(time.time(), 3)}, sort_keys=True) + "\n")
        self._fh.flush()


ACKS = AckLog()
#: answers after which a payment system retries with the same key: no answer at all, or a server error
RETRYABLE_STATUS = frozenset({0, 500, 502, 503, 504})


CLASS_STATS: dict[str, dict[str, int]] = {}


@events.request.add_listener
def _count_by_class(context: dict[str, Any], exception: BaseException | None, **_: Any) -> None:
    counts = CLASS_STATS.setdefault(str(context.get("user_class", "?")), {"requests": 0, "failures": 0})
    counts["requests"] += 1
    counts["failures"] += exception is not None


@events.quitting.add_listener
def _write_class_stats(environment: Environment, **_: Any) -> None:
    opts = environment.parsed_options
    if opts is not None and opts.class_stats_file:
        Path(opts.class_stats_file).write_text(json.dumps(CLASS_STATS, indent=2, sort_keys=True))
    ACKS.close()


def home_tenants(host: str | None) -> list[Tenant]:
    """The tenants users act at: the one ``--host`` names if it is a tenant, else every loaded tenant."""
    chosen = [t for t in TENANTS.values() if host and t.url == host.rstrip("/")]
    return chosen or list(TENANTS.values())


def today() -> date:
    return datetime.now(MASERU).date()


def national_id() -> str:
    return "".join(random.choice(string.digits) for _ in range(12))


def idem_key(prefix: str) -> dict[str, str]:
    return {"Idempotency-Key": f"{prefix}-{uuid.uuid4().hex}"}


class LetsemaUser(HttpUser):
    """A user with an OAuth token at one tenant, obtained and refreshed as a real client would."""

    abstract = True
    username = ""

    def on_start(self) -> None:
        self.tenant: Tenant = self.pick_tenant()
        self._access = ""
        self._refresh = ""
        self._expires_at = 0.0
        #: HTTP status of the last ``call`` (0: no answer)
        self.last_status = 0
        self.login()

    def pick_tenant(self) -> Tenant:
        return random.choice(home_tenants(self.environment.host))

    def context(self) -> dict[str, Any]:
        """Tags every request with its user class (Locust passes it to the request event)."""
        return {"user_class": type(self).__name__}

    # -- OAuth ---------------------------------------------------------------------------------
    def login(self) -> None:
        client = self.tenant.staff_client
        self._token_request(
            {
                "grant_type": "password",
                "username": self.username,
                "password": self.tenant.users[self.username]["password"],
            },
            (client["client_id"], client["client_secret"]),
            "/o/token/ [password]",
        )

    def _token_request(self, data: dict[str, str], auth: tuple[str, str], name: str) -> bool:
        with self.client.post(self.tenant.token_url, data=data, auth=auth, name=name, catch_response=True) as resp:
            if resp.status_code != 200:
                resp.failure(f"token: {resp.status_code} {resp.text[:200]}")
                return False
            body = resp.json()
            self._access = body["access_token"]
            self._refresh = body.get("refresh_token", "")
            self._expires_at = time.monotonic() + float(body.get("expires_in", 3600))
            return True

    def refresh(self) -> None:
        """Refresh tokens rotate: the new refresh token replaces the old one."""
        client = self.tenant.staff_client
        if self._refresh and self._token_request(
            {"grant_type": "refresh_token", "refresh_token": self._refresh},
            (client["client_id"], client["client_secret"]),
            "/o/token/ [refresh]",
        ):
            return
        self.login()

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        if time.monotonic() > self._expires_at - TOKEN_MARGIN:
            self.refresh()
        return {"Authorization": f"Bearer {self._access}", **(extra or {})}

    # -- requests ------------------------------------------------------------------------------
    def call(
        self,
        method: str,
        path: str,
        name: str,
        body: Any = None,
        *,
        tenant: Tenant | None = None,
        extra: dict[str, str] | None = None,
        expect: tuple[int, ...] = (200, 201),
        refusals: dict[int, str] | None = None,
    ) -> Any:
        """One API call; the JSON answer, or None when refused.

        A status in ``expect`` succeeds; one in ``refusals`` whose error code matches is an expected
        business refusal (recorded as a success, answers None); anything else fails.
        """
        url = (tenant or self.tenant).api(path)
        kwargs: dict[str, Any] = {"headers": self.headers(extra), "name": name, "catch_response": True}
        if body is not None:
            kwargs["json"] = body
        with self.client.request(method, url, **kwargs) as resp:
            self.last_status = resp.status_code
            if resp.status_code in expect:
                resp.success()
                return resp.json()
            code = _error_code(resp.text)
            if refusals and refusals.get(resp.status_code) == code:
                resp.success()
                return None
            resp.failure(f"{method} {name}: {resp.status_code} {resp.text[:300]}")
            return None


def _error_code(text: str) -> str:
    try:
        return str(json.loads(text).get("code", ""))
    except (ValueError, AttributeError):
        return ""


def new_borrower(nid: str) -> dict[str, Any]:
    return {
        "first_name": random.choice(FIRST),
        "last_name": random.choice(LAST),
        "date_of_birth": f"{random.randint(1965, 2000)}-{random.randint(1, 12):02d}-{random.randint(1, 28):02d}",
        "district": random.choice(DISTRICTS),
        "phone": f"5{random.randint(0, 9_999_999):07d}",
        "monthly_income": f"{random.randint(8, 40) * 1000}.00",
        "identifiers": [{"type": "lesotho_national_id", "value": nid}],
    }


def consent_body(purpose: str = "credit_sharing") -> dict[str, str]:
    return {"purpose": purpose, "method": "written", "reference": f"LOAD-{uuid.uuid4().hex[:10]}"}


def product_id(user: LetsemaUser, code: str = "BIZ-MONTHLY") -> str | None:
    page = user.call("GET", "/api/v1/loan-products/?code=" + code, "/api/v1/loan-products/?code={code}")
    rows = page["results"] if page else []
    return str(rows[0]["id"]) if rows else None


class LoanOfficer(LetsemaUser):
    """Onboards a borrower, records consent, verifies, quotes, applies, submits and assesses."""

    weight = 4
    wait_time = between(0.5, 2)
    username = "officer"

    def on_start(self) -> None:
        self.username = random.choice(["officer", "officer2"])
        super().on_start()
        self.product = product_id(self)

    @tag("officer", "onboarding")
    @task
    def onboard_and_apply(self) -> None:
        if not self.product:
            self.product = product_id(self)
            return
        nid = national_id()
        borrower = self.call("POST", "/api/v1/borrowers/", "/api/v1/borrowers/", new_borrower(nid), extra=idem_key("b"))
        if not borrower:
            return
        bid = borrower["id"]
        self.tenant.national_ids.append(nid)
        self.call(
            "POST",
            f"/api/v1/borrowers/{bid}/consents/",
            "/api/v1/borrowers/{id}/consents/",
            consent_body(),
            extra=idem_key("c"),
        )
        self.call("POST", f"/api/v1/borrowers/{bid}/verify/", "/api/v1/borrowers/{id}/verify/", {})
        principal = f"{random.randint(2, 20) * 1000}.00"
        term = random.randint(6, 12)
        self.call(
            "POST",
            "/api/v1/loan-quotes/",
            "/api/v1/loan-quotes/",
            {
                "product": self.product,
                "principal": principal,
                "term_in_periods": term,
                "disbursement_date": today().isoformat(),
            },
        )
        app = self.call(
            "POST",
            "/api/v1/loan-applications/",
            "/api/v1/loan-applications/",
            {"borrower_id": bid, "product_id": self.product, "principal": principal, "term_in_periods": term},
            extra=idem_key("a"),
        )
        if not app:
            return
        aid = app["id"]
        submitted = self.call(
            "POST", f"/api/v1/loan-applications/{aid}/submit/", "/api/v1/loan-applications/{id}/submit/", {}
        )
        if submitted and self.call(
            "POST", f"/api/v1/loan-applications/{aid}/assess/", "/api/v1/loan-applications/{id}/assess/", {}
        ):
            self.tenant.assessed.append(aid)

    @tag("officer", "reads")
    @task(2)
    def look_up_borrowers(self) -> None:
        self.call("GET", "/api/v1/borrowers/?page_size=20", "/api/v1/borrowers/?page_size={n}")


class BranchManager(LetsemaUser):
    """Approves and disburses assessed applications made by officers (maker-checker: never its own)."""

    weight = 2
    wait_time = between(0.5, 2)
    username = "manager"

    def _next_application(self) -> tuple[str | None, bool]:
        """(application id, taken from this process's pool); else one listed as submitted by the API."""
        if self.tenant.assessed:
            return self.tenant.assessed.popleft(), True
        page = self.call(
            "GET",
            "/api/v1/loan-applications/?status=submitted&page_size=20",
            "/api/v1/loan-applications/?status={status}",
        )
        rows = [r for r in (page or {}).get("results", []) if r.get("created_by") != self.username]
        return (str(random.choice(rows)["id"]) if rows else None), False

    @tag("manager", "approval")
    @task
    def approve_and_disburse(self) -> None:
        aid, pooled = self._next_application()
        if aid is None:
            return
        # Listed applications may be mid-assessment or taken by another manager: expected refusals.
        refusals = None if pooled else {422: "credit_check_required", 409: "illegal_application_transition"}
        name = "/api/v1/loan-applications/{id}/approve/"
        if not self.call("POST", f"/api/v1/loan-applications/{aid}/approve/", name, {}, refusals=refusals):
            return
        loan = self.call(
            "POST",
            f"/api/v1/loan-applications/{aid}/disburse/",
            "/api/v1/loan-applications/{id}/disburse/",
            {},
            extra=idem_key("d"),
        )
        if loan:
            self.tenant.loans.append(str(loan.get("id") or loan.get("loan_id")))

    @tag("manager", "reads")
    @task
    def review_portfolio(self) -> None:
        self.call("GET", "/api/v1/loans/?status=active&page_size=20", "/api/v1/loans/?status={status}")


class PaymentGateway(LetsemaUser):
    """A payment system: client-credentials token for repayments, HMAC signature for M-Pesa callbacks."""

    weight = 3
    wait_time = between(0.5, 1.5)
    username = "mpesa"
    #: ``--retry-failed-payments``: retry once, same key, after no answer or a 5xx
    retry_failed = False

    def login(self) -> None:
        client = self.tenant.gateway_client
        self._token_request(
            {"grant_type": "client_credentials"},
            (client["client_id"], client["client_secret"]),
            "/o/token/ [client_credentials]",
        )

    def refresh(self) -> None:
        self.login()  # no refresh token for this grant: ask for a new one

    @tag("gateway", "repayments")
    @task(3)
    def post_repayment(self) -> None:
        loan = self.tenant.random_loan()
        if loan is None:
            return
        path, name = f"/api/v1/loans/{loan}/repayments/", "/api/v1/loans/{id}/repayments/"
        body = {"amount": f"{random.randint(1, 50)}.00"}
        key = idem_key("pay")
        refusals = {409: "illegal_loan_transition"}  # repaid or written off meanwhile
        first = self.call("POST", path, name, body, extra=key, refusals=refusals)
        if first is None and self.retry_failed and self.last_status in RETRYABLE_STATUS:
            time.sleep(1.0)  # gevent-patched: only this user waits
            first = self.call("POST", path, name + " [retry after failure]", body, extra=key, refusals=refusals)
        if first is not None:
            self._ack_repayment(loan, key, body, first, self.last_status)
        if first is None or random.random() >= 0.3:
            return
        # A simulated timeout: the gateway never saw the answer and retries with the same key.
        with self.client.post(
            self.tenant.api(path), json=body, headers=self.headers(key), name=name + " [retry]", catch_response=True
        ) as resp:
            if resp.status_code in (200, 201):
                self._ack_repayment(loan, key, body, resp.json(), resp.status_code)
            if resp.status_code != 201 or resp.headers.get("Idempotent-Replayed") != "true":
                resp.failure(f"retry: {resp.status_code} replayed={resp.headers.get('Idempotent-Replayed')}")
            elif resp.json()["id"] != first["id"]:
                resp.failure(f"retry answered another transaction: {resp.json()['id']} != {first['id']}")
            else:
                resp.success()

    def _ack_repayment(
        self, loan: str, key: dict[str, str], body: dict[str, str], answer: dict[str, Any], status: int
    ) -> None:
        ACKS.record(
            kind="repayment",
            tenant=self.tenant.tenant_id,
            loan_id=loan,
            idempotency_key=key["Idempotency-Key"],
            amount=body["amount"],
            transaction_id=answer.get("id"),
            status=status,
        )

    @tag("gateway", "probe")
    @task(1)
    def probe_overpayment(self) -> None:
        """A deliberate overpayment: the API refuses it with 422, which is the expected answer."""
        loan = self.tenant.random_loan()
        if loan is None:
            return
        with self.client.post(
            self.tenant.api(f"/api/v1/loans/{loan}/repayments/"),
            json={"amount": "99999999.00"},
            headers=self.headers(idem_key("over")),
            name="/api/v1/loans/{id}/repayments/ [overpayment probe]",
            catch_response=True,
        ) as resp:
            expected = {(422, "overpayment_refused"), (409, "illegal_loan_transition")}
            if (resp.status_code, _error_code(resp.text)) in expected:
                resp.success()
            else:
                resp.failure(f"overpayment probe: {resp.status_code} {resp.text[:200]}")

    @tag("gateway", "mpesa")
    @task(3)
    def mpesa_callback(self) -> None:
        if self.tenant.signing_key is None:
            return
        loan = self.tenant.random_loan()
        receipt = {
            "receipt_number": "LD" + "".join(random.choice(string.ascii_uppercase + string.digits) for _ in range(10)),
            "amount": f"{random.randint(1, 30)}.00",
            "phone": f"+2665{random.randint(0, 9_999_999):07d}",
            "account_reference": loan or f"LN-UNKNOWN-{random.randint(1, 999)}",
            "transaction_time": datetime.now(MASERU).replace(microsecond=0).isoformat(),
        }
        first = self._signed_callback(receipt, "/api/v1/payments/mpesa/callback/")
        if first is None and self.retry_failed and self.last_status in RETRYABLE_STATUS:
            time.sleep(1.0)
            first = self._signed_callback(receipt, "/api/v1/payments/mpesa/callback/ [retry after failure]")
        if first is not None and random.random() < 0.3:
            # M-Pesa delivers at least once: the same receipt again must replay, not pay twice.
            again = self._signed_callback(receipt, "/api/v1/payments/mpesa/callback/ [repeat]", replay_of=first)
            del again

    def _signed_callback(
        self, receipt: dict[str, str], name: str, replay_of: tuple[int, dict[str, Any]] | None = None
    ) -> tuple[int, dict[str, Any]] | None:
        assert self.tenant.signing_key is not None
        body = json.dumps(receipt, separators=(",", ":")).encode("utf-8")
        stamp = str(int(time.time()))
        digest = hmac.new(self.tenant.signing_key, stamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()
        headers = {
            "Content-Type": "application/json",
            "X-Letsema-Timestamp": stamp,
            "X-Letsema-Signature": f"sha256={digest}",
        }
        url = self.tenant.api("/api/v1/payments/mpesa/callback/")
        with self.client.post(url, data=body, headers=headers, name=name, catch_response=True) as resp:
            self.last_status = resp.status_code
            if resp.status_code not in (200, 202):
                resp.failure(f"callback: {resp.status_code} {resp.text[:300]}")
                return None
            answer = (resp.status_code, resp.json())
            self._ack_receipt(receipt, answer)
            if replay_of is not None and (resp.headers.get("Idempotent-Replayed") != "true" or answer != replay_of):
                resp.failure(f"repeated receipt was not replayed: {answer} vs {replay_of}")
                return None
            resp.success()
            return answer

    def _ack_receipt(self, receipt: dict[str, str], answer: tuple[int, dict[str, Any]]) -> None:
        status, reply = answer
        ACKS.record(
            kind="mpesa",
            tenant=self.tenant.tenant_id,
            loan_id=reply.get("loan_id"),
            receipt_number=receipt["receipt_number"],
            amount=receipt["amount"],
            transaction_id=reply.get("transaction_id"),
            outcome=reply.get("status"),
            status=status,
        )


class Analyst(LetsemaUser):
    """Reads reports (PAR, ageing, portfolio, collections) and list pages."""

    weight = 1
    wait_time = between(1, 3)
    username = "auditor"

    @tag("analyst", "reports")
    @task(4)
    def report(self) -> None:
        kind = random.choice(["par", "ageing", "portfolio", "collections"])
        query = f"?to={today().isoformat()}" if kind == "collections" else f"?as_of={today().isoformat()}"
        self.call("GET", f"/api/v1/reports/{kind}/{query}", f"/api/v1/reports/{kind}/")

    @tag("analyst", "lists")
    @task(2)
    def list_page(self) -> None:
        listing = random.choice(["loans", "borrowers", "loan-applications"])
        # The first page, then (half the time) the next one through its cursor link, as a list screen does.
        page = self.call("GET", f"/api/v1/{listing}/?page_size=50", f"/api/v1/{listing}/?page_size={{n}}")
        link = (page or {}).get("next")
        if link and random.random() < 0.5:
            path = urlsplit(link)
            self.call("GET", f"{path.path}?{path.query}", f"/api/v1/{listing}/?cursor={{cursor}}")


class CrossMfiInquirer(LetsemaUser):
    """At another MFI, pulls credit reports for borrowers known at both (registering them, with consent)."""

    weight = 1
    wait_time = between(1, 3)
    username = "officer"

    def pick_tenant(self) -> Tenant:
        """Another MFI than the one the other users load (``--host``), when there is one."""
        homes = home_tenants(self.environment.host)
        self.source: Tenant | None = random.choice(homes)
        others = [t for t in TENANTS.values() if t.tenant_id != self.source.tenant_id]
        if not others:
            self.source = None
            return homes[0]
        return random.choice(others)

    @tag("cross-mfi", "credit-reports")
    @task(2)
    def report_on_a_known_borrower(self) -> None:
        page = self.call("GET", "/api/v1/borrowers/?page_size=50", "/api/v1/borrowers/?page_size={n}")
        rows = (page or {}).get("results", [])
        if rows:
            self._pull(str(random.choice(rows)["id"]))

    @tag("cross-mfi", "credit-reports")
    @task(1)
    def report_on_a_borrower_of_the_other_mfi(self) -> None:
        """A borrower onboarded at the other MFI comes here: registered, consent, then a report."""
        if self.source is None or not self.source.national_ids:
            return
        nid = random.choice(self.source.national_ids)
        borrower = self.call(
            "POST",
            "/api/v1/borrowers/",
            "/api/v1/borrowers/",
            new_borrower(nid),
            extra={"Idempotency-Key": f"x-{nid}"},
            refusals={409: "duplicate_identifier"},
        )
        if borrower:
            self.call(
                "POST",
                f"/api/v1/borrowers/{borrower['id']}/consents/",
                "/api/v1/borrowers/{id}/consents/",
                consent_body("credit_report"),
                extra={"Idempotency-Key": f"xc-{nid}"},
            )
            self._pull(str(borrower["id"]))

    def _pull(self, borrower_id: str) -> None:
        # Seeded borrowers carry a credit_sharing consent; any without one is an expected refusal.
        self.call(
            "POST",
            "/api/v1/credit-reports/",
            "/api/v1/credit-reports/",
            {"borrower": borrower_id, "purpose": "new loan application"},
            extra=idem_key("cr"),
            refusals={422: "consent_required"},
        )
