"""Contract of the ``ApplicationRepository`` port. Provide ``applications`` returning an empty one.

Assessments must come back equal: ``letsema_core.credit.assessment_to_dict`` / ``assessment_from_dict``
give a JSON form an adapter can store.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from letsema_core.credit import CreditAssessment, CreditFile, assess_application, build_credit_report
from letsema_core.errors import NotFound, ValidationError
from letsema_core.loans import ApplicationStatus, LoanApplication
from letsema_core.ports import ApplicationRepository
from tests.contracts import FloatTrapped


def make_application(application_id: str = "A-1") -> LoanApplication:
    return LoanApplication(
        application_id=application_id,
        borrower_id="B-1",
        product_id="biz12",
        principal=Decimal("10000.00"),
        term_in_periods=12,
        created_by="officer-1",
        created_on=date(2026, 1, 5),
    )


def make_assessment(income: str) -> CreditAssessment:
    report = build_credit_report(
        credit_file=CreditFile(country="LS", borrower_key="bk", accounts=(), inquiries=(), disputes=()),
        as_of=datetime(2026, 1, 5, 9, 0, tzinfo=UTC),
        inquiring_mfi="khotso",
    )
    return assess_application(report=report, monthly_income=income, new_monthly_installment="945.60")


class ApplicationRepositoryContract(FloatTrapped):
    @pytest.fixture
    def applications(self) -> ApplicationRepository:
        raise NotImplementedError

    def test_implements_the_port(self, applications: ApplicationRepository) -> None:
        assert isinstance(applications, ApplicationRepository)

    def test_added_application_is_returned_equal(self, applications: ApplicationRepository) -> None:
        applications.add(make_application())
        assert applications.get("A-1") == make_application()

    def test_adding_an_existing_id_is_refused(self, applications: ApplicationRepository) -> None:
        applications.add(make_application())
        with pytest.raises(ValidationError) as excinfo:
            applications.add(make_application())
        assert excinfo.value.rule == "unique"

    def test_unknown_application_is_not_found(self, applications: ApplicationRepository) -> None:
        with pytest.raises(NotFound):
            applications.get("A-404")

    def test_changes_are_kept_only_once_saved(self, applications: ApplicationRepository) -> None:
        applications.add(make_application())
        application = applications.get("A-1")
        application.submit(by="officer-1", on=date(2026, 1, 6))
        assert applications.get("A-1").status is ApplicationStatus.DRAFT
        applications.save(application)
        stored = applications.get("A-1")
        assert (stored.status, stored.submitted_by, stored.submitted_on) == (
            ApplicationStatus.SUBMITTED,
            "officer-1",
            date(2026, 1, 6),
        )
        assert stored == application

    def test_latest_assessment_is_the_last_recorded(self, applications: ApplicationRepository) -> None:
        applications.add(make_application())
        assert applications.latest_assessment("A-1") is None
        first, second = make_assessment("1000.00"), make_assessment("9000.00")
        applications.record_assessment("A-1", first)
        applications.record_assessment("A-1", second)
        assert applications.latest_assessment("A-1") == second
