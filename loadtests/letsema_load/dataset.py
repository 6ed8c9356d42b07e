"""The national-scale dataset, as plain values: people, their loans at one MFI, their accounts elsewhere.

Pure and deterministic: every value of chunk ``c`` comes from ``random.Random(f"{seed}:{stage}:{c}")`` and from
the index of the person or account, so a chunk regenerated after a crash is the chunk it was (the loader's
resumability rests on that), and two runs with one seed give one dataset. No I/O here: ``generate.py`` turns
these values into rows (bulk COPY into the tenant's PostgreSQL) and registry documents.

The loans are built by ``letsema_core`` itself (the product's terms, ``generate_schedule``, ``Loan.record_repayment``
and ``Loan.close_business_day``), so the generated book obeys DOMAIN.md to the cent exactly as a book the API built
would: allocation order, penalties once per installment after the grace days, DPD and arrears buckets.

The mix (see docs/performance.md "Dataset"):

- people spread over Lesotho's ten districts roughly by population (Maseru a quarter, Qacha's Nek 3 %);
- at the benchmarked MFI one active loan per borrower: 70 % monthly business loans (1 000–100 000 maloti,
  3–18 months, median about 6 000), 30 % weekly group loans (500–20 000, 8–26 weeks, median about 2 000),
  disbursed so that part of the term has run;
- repayment behaviour: about 80 % pay every installment on its due date; the rest stopped paying at some point
  (some with a partial payment first), which puts them in the 1-30 … 180+ buckets;
- elsewhere (other MFIs, in the registry only) about two accounts per person, a share of them closed or written
  off, some of the active ones in arrears.
"""

from __future__ import annotations

import random
import uuid
from bisect import bisect
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from itertools import accumulate

from letsema_core.borrowers import District, Gender, normalise_name
from letsema_core.credit.registry import (
    AccountEventType,
    CreditAccount,
    CreditAccountEvent,
    CreditAccountStatus,
    apply_account_event,
)
from letsema_core.loans import Loan
from letsema_core.loans.loan import RepaymentReallocated
from letsema_core.products import LoanProduct
from letsema_core.schedules import generate_schedule

COUNTRY = "LS"

#: districts weighted by population (2016 census, rounded)
DISTRICT_WEIGHTS: tuple[tuple[District, int], ...] = (
    (District.MASERU, 25),
    (District.LERIBE, 16),
    (District.BEREA, 13),
    (District.MAFETENG, 9),
    (District.MOHALES_HOEK, 8),
    (District.QUTHING, 6),
    (District.BUTHA_BUTHE, 6),
    (District.THABA_TSEKA, 7),
    (District.MOKHOTLONG, 5),
    (District.QACHAS_NEK, 5),
)

FIRST_NAMES = (
    "Palesa", "Thabo", "Lineo", "Teboho", "Mpho", "Lerato", "Tumelo", "Nthabiseng", "Retselisitsoe", "Mamello",
    "Tšepo", "Khotso", "Limpho", "Refiloe", "Bokang", "Lisebo", "Motlatsi", "Puleng", "Tlali", "Keketso",
    "Mosa", "Rethabile", "Thato", "Nthati", "Lebohang", "Mats'eliso", "Kananelo", "Relebohile", "Tankiso",
    "Hlompho", "Neo", "Karabo", "Moeketsi", "Masechaba", "Sello", "Ntsoaki", "Paballo", "Tlotliso",
)  # fmt: skip
LAST_NAMES = (
    "Mokoena", "Letsie", "Mofokeng", "Ramakau", "Mohapi", "Moshoeshoe", "Thamae", "Lebona", "Sekhonyana",
    "Molapo", "Nthunya", "Mokhehle", "Makara", "Phafane", "Seeiso", "Lerotholi", "Matete", "Ramoholi",
    "Khoabane", "Mosisili", "Majoro", "Motanyane", "Ntho", "Sehloho", "Tšoeu", "Mahase", "Lekhanya", "Mphutlane",
)  # fmt: skip

#: (share in per mille, lowest DPD, highest DPD) of the tenant's loans; 0 means "pays on time"
ARREARS_MIX: tuple[tuple[int, int, int], ...] = (
    (800, 0, 0),
    (80, 1, 30),
    (30, 31, 60),
    (20, 61, 90),
    (35, 91, 180),
    (35, 181, 400),
)

OTHER_LENDERS = ("tsepo", "bokamoso", "lesedi-credit", "maluti-finance", "thusanang", "kopano-mfi", "mohloli")


def _cumulative(weights: tuple[int, ...]) -> list[int]:
    return list(accumulate(weights))


_DISTRICT_CUM = _cumulative(tuple(w for _, w in DISTRICT_WEIGHTS))
_ARREARS_CUM = _cumulative(tuple(w for w, _, _ in ARREARS_MIX))


def _pick_district(rng: random.Random) -> District:
    return DISTRICT_WEIGHTS[bisect(_DISTRICT_CUM, rng.randrange(_DISTRICT_CUM[-1]))][0]


def national_id(person: int, *, seed: int) -> str:
    """The 12-digit national ID of person ``person``: a bijection of the index (odd multiplier coprime with
    10^12), so every person has a distinct ID and the IDs do not run in order."""
    multiplier = 600_000_000_007  # odd, not a multiple of 5: invertible modulo 10**12
    return f"{(person * multiplier + 104_729 * (seed % 1_000_003)) % 10**12:012d}"


def _id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


@dataclass(frozen=True, slots=True)
class Person:
    index: int
    borrower_id: str
    first_name: str
    last_name: str
    date_of_birth: date
    district: District
    gender: Gender
    phone: str  # E.164
    monthly_income: Decimal
    national_id: str

    @property
    def lookup_input(self) -> str:
        return f"LS:NID:{self.national_id}"

    @property
    def normalised_name(self) -> str:
        return normalise_name(self.first_name, self.last_name)


def person(index: int, rng: random.Random, *, seed: int, as_of: date) -> Person:
    """Person ``index`` drawn from ``rng`` (the chunk's generator)."""
    gender = Gender.FEMALE if rng.random() < 0.62 else Gender.MALE  # MFI clients in Lesotho are mostly women
    age_days = rng.randint(19 * 365, 70 * 365)
    income = Decimal(int(rng.lognormvariate(8.4, 0.55))).quantize(Decimal("1.00"))
    return Person(
        index=index,
        borrower_id=_id(rng),
        first_name=rng.choice(FIRST_NAMES),
        last_name=rng.choice(LAST_NAMES),
        date_of_birth=as_of - timedelta(days=age_days),
        district=_pick_district(rng),
        gender=gender,
        phone=f"+266{rng.choice('56')}{rng.randrange(10**7):07d}",
        monthly_income=max(income, Decimal("800.00")),
        national_id=national_id(index, seed=seed),
    )


@dataclass
class GeneratedLoan:
    """A loan built by the core, with what the loader needs besides it."""

    loan: Loan
    officer: str
    reallocations: list[RepaymentReallocated]


def _principal(rng: random.Random, product: LoanProduct, median: float) -> Decimal:
    raw = rng.lognormvariate(0, 0.7) * median
    bounded = min(max(Decimal(int(raw)) // 50 * 50, product.principal_min), product.principal_max)
    return bounded.quantize(Decimal("1.00"))


def build_loan(
    rng: random.Random,
    *,
    person: Person,
    products: list[tuple[str, LoanProduct]],
    as_of: date,
) -> GeneratedLoan:
    """One active loan of ``person`` at the benchmarked MFI, as of the close of business of ``as_of``.

    ``products`` is ``[(id, product)]`` of the monthly business product then the weekly group product.
    """
    (monthly_id, monthly), (weekly_id, weekly) = products
    if rng.random() < 0.7:
        product_id, product, median = monthly_id, monthly, 6000.0
        term = rng.randint(max(3, monthly.term_min), min(18, monthly.term_max))
        period_days = 30
    else:
        product_id, product, median = weekly_id, weekly, 2000.0
        term = rng.randint(max(8, weekly.term_min), min(26, weekly.term_max))
        period_days = 7
    # Part of the term has run; long-overdue loans are the ones whose term is long gone.
    _share, low, high = ARREARS_MIX[bisect(_ARREARS_CUM, rng.randrange(_ARREARS_CUM[-1]))]
    target_dpd = rng.randint(low, high) if high else 0
    elapsed_days = rng.randint(1, max(1, term * period_days - 1))
    if target_dpd:
        elapsed_days = max(elapsed_days, target_dpd + period_days + 1)
    disbursed_on = as_of - timedelta(days=elapsed_days)
    terms = product.terms_for(
        principal=_principal(rng, product, median), term_in_periods=term, disbursement_date=disbursed_on
    )
    loan_id = _id(rng)
    loan = Loan(
        loan_id=loan_id,
        schedule=generate_schedule(terms),
        disbursed_on=disbursed_on,
        borrower_id=person.borrower_id,
        product_id=product_id,
        late_penalty_percent=product.late_penalty_percent,
        penalty_grace_days=product.penalty_grace_days,
    )
    # Pays every installment on its due date; one in arrears stops at the first installment falling due in
    # the period before ``as_of - target_dpd`` (so its DPD lands in [target, target + a period)).
    stop_after = as_of - timedelta(days=target_dpd + period_days) if target_dpd else as_of
    partial = target_dpd > 0 and rng.random() < 0.3
    reallocations: list[RepaymentReallocated] = []
    for installment in loan.schedule.installments:
        if installment.due_date >= as_of:
            break  # not yet due
        if installment.due_date > stop_after:
            if partial:
                balance = loan.balances[installment.number - 1]  # balances are in installment order
                half = ((balance.principal + balance.interest + balance.fees) / 2).quantize(Decimal("0.01"))
                if half > 0:
                    loan.record_repayment(on=installment.due_date, amount=half)
            break
        balance = loan.balances[installment.number - 1]  # balances are in installment order
        due = balance.principal + balance.interest + balance.fees + balance.penalties
        if due > 0:
            loan.record_repayment(on=installment.due_date, amount=due)
    # Close of business on each date a missed installment's penalty fell due, then on ``as_of``.
    charge_dates = sorted(
        {
            b.due_date + timedelta(days=product.penalty_grace_days + 1)
            for b in loan.balances
            if b.due_date < as_of and (b.principal + b.interest + b.fees) > 0
        }
    )
    for day in [*(d for d in charge_dates if d < as_of), as_of]:
        for event in loan.close_business_day(as_of=day):
            if isinstance(event, RepaymentReallocated):
                reallocations.append(event)
    return GeneratedLoan(loan=loan, officer=rng.choice(("officer", "officer2")), reallocations=reallocations)


def tenant_events(
    generated: GeneratedLoan, *, borrower_key: str, lender_mfi: str, frequency: str, as_of: date
) -> list[CreditAccountEvent]:
    """The registry events the tenant's outbox would hold for the loan: opened, then its state as of ``as_of``."""
    loan = generated.loan
    common = {
        "country": COUNTRY,
        "borrower_key": borrower_key,
        "lender_mfi": lender_mfi,
        "loan_ref": loan.loan_id,
        "opened_on": loan.disbursed_on,
        "principal": loan.principal,
        "installment_amount": loan.installment_amount,
        "repayment_frequency": frequency,
        "status": CreditAccountStatus(loan.status.value),
    }
    opened = CreditAccountEvent.create(
        event_type=AccountEventType.ACCOUNT_OPENED,
        sequence=1,
        as_of=loan.disbursed_on,
        outstanding_balance=loan.principal,
        days_past_due=0,
        **{**common, "status": CreditAccountStatus.ACTIVE},
    )
    if len(loan.transactions) == 1 and loan.days_past_due == 0:
        return [opened]
    latest = CreditAccountEvent.create(
        event_type=AccountEventType.ARREARS_CHANGED if loan.days_past_due else AccountEventType.REPAYMENT,
        sequence=2,
        as_of=as_of,
        outstanding_balance=loan.outstanding_principal,
        days_past_due=loan.days_past_due,
        **common,
    )
    return [opened, latest]


def other_account(
    rng: random.Random, *, account: int, borrower_key: str, as_of: date
) -> tuple[CreditAccount, list[CreditAccountEvent]]:
    """Account ``account`` of some person at another MFI (registry only), with the events that made it."""
    lender = OTHER_LENDERS[account % len(OTHER_LENDERS)]
    monthly = rng.random() < 0.7
    frequency = "monthly" if monthly else "weekly"
    term_days = (rng.randint(3, 24) * 30) if monthly else (rng.randint(8, 52) * 7)
    opened_on = as_of - timedelta(days=rng.randint(30, 5 * 365))
    principal = Decimal(int(rng.lognormvariate(0, 0.7) * (6000 if monthly else 2000)) // 50 * 50 + 500).quantize(
        Decimal("1.00")
    )
    periods = term_days // (30 if monthly else 7)
    installment = (principal * Decimal("1.25") / periods).quantize(Decimal("0.01"))
    ends_on = opened_on + timedelta(days=term_days)
    roll = rng.random()
    dpd = 0
    if ends_on < as_of and roll < 0.85:
        status, balance, last_on = CreditAccountStatus.CLOSED, Decimal("0.00"), min(ends_on, as_of)
    elif roll < 0.06 or (ends_on < as_of and roll >= 0.85):
        status, last_on = CreditAccountStatus.WRITTEN_OFF, min(ends_on + timedelta(days=200), as_of)
        balance = (principal * Decimal(rng.randint(10, 90)) / 100).quantize(Decimal("0.01"))
        dpd = max(1, (last_on - opened_on).days // 3)
    else:
        status, last_on = CreditAccountStatus.ACTIVE, as_of
        run = max(0.0, min(1.0, (as_of - opened_on).days / term_days))
        balance = (principal * Decimal(str(round(1 - run, 3)))).quantize(Decimal("0.01"))
        _share, low, high = ARREARS_MIX[bisect(_ARREARS_CUM, rng.randrange(_ARREARS_CUM[-1]))]
        dpd = rng.randint(low, high) if high else 0
    loan_ref = _id(rng)
    common = {
        "country": COUNTRY,
        "borrower_key": borrower_key,
        "lender_mfi": lender,
        "loan_ref": loan_ref,
        "opened_on": opened_on,
        "principal": principal,
        "installment_amount": installment,
        "repayment_frequency": frequency,
    }
    opened = CreditAccountEvent.create(
        event_type=AccountEventType.ACCOUNT_OPENED,
        sequence=1,
        as_of=opened_on,
        outstanding_balance=principal,
        status=CreditAccountStatus.ACTIVE,
        days_past_due=0,
        **common,
    )
    kind = {
        CreditAccountStatus.CLOSED: AccountEventType.CLOSED,
        CreditAccountStatus.WRITTEN_OFF: AccountEventType.WRITTEN_OFF,
        CreditAccountStatus.ACTIVE: AccountEventType.ARREARS_CHANGED if dpd else AccountEventType.REPAYMENT,
    }[status]
    latest = CreditAccountEvent.create(
        event_type=kind,
        sequence=2,
        as_of=max(last_on, opened_on),
        outstanding_balance=balance,
        status=status,
        days_past_due=dpd,
        **common,
    )
    events = [opened, latest]
    account_state: CreditAccount | None = None
    for event in events:
        account_state = apply_account_event(account_state, event)
    assert account_state is not None
    return account_state, events
