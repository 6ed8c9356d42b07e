"""``/api/v1/loan-applications/``, ``/api/v1/loans/`` and ``/api/v1/repayments/``."""

from __future__ import annotations

from django.urls import path, re_path

from letsema_api.common.transactions import reads_outside_transaction
from letsema_api.lending import apis

ID = r"(?P<{}>[A-Za-z0-9._-]{{1,64}})"
TXN = r"(?P<transaction_id>[A-Za-z0-9._-]{1,100})"

urlpatterns = [
    path("loan-applications/", apis.ApplicationListCreateApi.as_view(), name="loan-applications"),
    re_path(
        rf"^loan-applications/{ID.format('application_id')}/$",
        apis.ApplicationDetailApi.as_view(),
        name="loan-application",
    ),
    re_path(
        rf"^loan-applications/{ID.format('application_id')}/submit/$",
        apis.ApplicationSubmitApi.as_view(),
        name="loan-application-submit",
    ),
    re_path(
        rf"^loan-applications/{ID.format('application_id')}/assess/$",
        apis.ApplicationAssessApi.as_view(),
        name="loan-application-assess",
    ),
    re_path(
        rf"^loan-applications/{ID.format('application_id')}/approve/$",
        apis.ApplicationApproveApi.as_view(),
        name="loan-application-approve",
    ),
    re_path(
        rf"^loan-applications/{ID.format('application_id')}/reject/$",
        apis.ApplicationRejectApi.as_view(),
        name="loan-application-reject",
    ),
    re_path(
        rf"^loan-applications/{ID.format('application_id')}/withdraw/$",
        apis.ApplicationWithdrawApi.as_view(),
        name="loan-application-withdraw",
    ),
    re_path(
        rf"^loan-applications/{ID.format('application_id')}/disburse/$",
        apis.ApplicationDisburseApi.as_view(),
        name="loan-application-disburse",
    ),
    path("loans/", reads_outside_transaction(apis.LoanListApi), name="loans"),
    re_path(rf"^loans/{ID.format('loan_id')}/$", reads_outside_transaction(apis.LoanDetailApi), name="loan"),
    re_path(
        rf"^loans/{ID.format('loan_id')}/schedule/$",
        reads_outside_transaction(apis.LoanScheduleApi),
        name="loan-schedule",
    ),
    re_path(rf"^loans/{ID.format('loan_id')}/statement/$", apis.LoanStatementApi.as_view(), name="loan-statement"),
    re_path(rf"^loans/{ID.format('loan_id')}/repayments/$", apis.LoanRepaymentApi.as_view(), name="loan-repayments"),
    re_path(rf"^loans/{ID.format('loan_id')}/payoff/$", apis.LoanPayoffApi.as_view(), name="loan-payoff"),
    re_path(rf"^loans/{ID.format('loan_id')}/write-off/$", apis.LoanWriteOffApi.as_view(), name="loan-write-off"),
    re_path(rf"^repayments/{TXN}/reverse/$", apis.RepaymentReverseApi.as_view(), name="repayment-reverse"),
]
