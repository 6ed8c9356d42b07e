"""Loan applications (with their credit assessments), loans, installments, repayment transactions and
API idempotency records: the core's ``ApplicationRepository``/``LoanRepository`` on PostgreSQL and the
``/api/v1/loan-applications/``, ``/api/v1/loans/`` and ``/api/v1/repayments/`` endpoints."""
