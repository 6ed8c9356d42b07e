"""The pure parts of the fault drills (``loadtests/drills.py``), checked without a platform.

The drills themselves run for minutes against a private platform (``make drills``); what decides
their verdict is tested here on small made-up data: per-second counts and recovery times from Locust's
stats history, and the acknowledgement and registry checks.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "loadtests"))

from letsema_load.drills_metrics import Second, failing_requests, failure_kinds, per_second, recovery, window_counts
from letsema_load.drills_report import DrillResult, failure_reasons, plot, write_json, write_markdown
from letsema_load.drills_verify import (
    Ack,
    AckCheck,
    ReceiptRow,
    RegistryAccount,
    TenantLoan,
    TenantRows,
    TxnRow,
    load_acks,
    registry_differences,
    verify_acks,
)

pytestmark = pytest.mark.unit

T0 = 1_800_000_000


def history_row(t: int, requests: int, failures: int, name: str = "Aggregated") -> dict[str, str]:
    return {
        "Timestamp": str(t),
        "Name": name,
        "Total Request Count": str(requests),
        "Total Failure Count": str(failures),
    }


def series(*counts: tuple[int, int]) -> list[Second]:
    """Seconds from T0 on with (requests, failures) each."""
    return [Second(T0 + i, r, f) for i, (r, f) in enumerate(counts)]


class TestPerSecond:
    def test_differences_of_the_cumulative_aggregated_totals(self) -> None:
        rows = [history_row(T0, 5, 0), history_row(T0 + 1, 9, 1), history_row(T0 + 2, 15, 1)]
        assert per_second(rows) == [Second(T0, 5, 0), Second(T0 + 1, 4, 1), Second(T0 + 2, 6, 0)]

    def test_rows_of_single_requests_are_ignored(self) -> None:
        rows = [history_row(T0, 5, 0), history_row(T0, 99, 99, name="/api/v1/loans/"), history_row(T0 + 1, 6, 0)]
        assert per_second(rows) == [Second(T0, 5, 0), Second(T0 + 1, 1, 0)]

    def test_a_missing_second_counts_zero_and_the_next_row_carries_it(self) -> None:
        rows = [history_row(T0, 5, 0), history_row(T0 + 2, 11, 2)]
        assert per_second(rows) == [Second(T0, 5, 0), Second(T0 + 1, 0, 0), Second(T0 + 2, 6, 2)]

    def test_the_last_row_of_a_second_wins(self) -> None:
        rows = [history_row(T0, 5, 0), history_row(T0 + 1, 7, 0), history_row(T0 + 1, 8, 1)]
        assert per_second(rows) == [Second(T0, 5, 0), Second(T0 + 1, 3, 1)]

    def test_no_rows_no_seconds(self) -> None:
        assert per_second([]) == []


class TestWindowCounts:
    def test_counts_the_seconds_from_start_up_to_end(self) -> None:
        s = series((4, 0), (5, 2), (6, 1), (7, 0))
        assert window_counts(s, T0 + 1.4, T0 + 3) == (11, 3)

    def test_an_instant_window_counts_its_second(self) -> None:
        s = series((4, 0), (5, 2))
        assert window_counts(s, T0 + 1.2, T0 + 1.5) == (5, 2)


class TestRecovery:
    def test_nothing_failed_means_no_recovery_needed(self) -> None:
        s = series(*[(5, 0)] * 10)
        rec = recovery(s, injected_at=T0 + 0.5, period_end=T0 + 10)
        assert (rec.seconds, rec.first_failure_seconds, rec.last_failure_seconds) == (0.0, None, None)

    def test_recovered_where_five_quiet_seconds_begin_after_the_failures(self) -> None:
        # injected at T0+2.0; failures at T0+3 and T0+4; quiet from T0+5 on.
        s = series((5, 0), (5, 0), (5, 0), (3, 2), (1, 1), (5, 0), (5, 0), (5, 0), (5, 0), (5, 0), (5, 0))
        rec = recovery(s, injected_at=T0 + 2.0, period_end=T0 + 11)
        assert rec.seconds == 3.0
        assert rec.first_failure_seconds == 1.0
        assert rec.last_failure_seconds == 3.0  # the end of the last failing second

    def test_a_failure_inside_the_quiet_run_starts_it_again(self) -> None:
        s = series((3, 2), (5, 0), (5, 0), (5, 1), (5, 0), (5, 0), (5, 0), (5, 0), (5, 0), (5, 0))
        rec = recovery(s, injected_at=T0, period_end=T0 + 10)
        assert rec.seconds == 4.0

    def test_silence_is_not_recovery(self) -> None:
        # No failures but no requests either (every user stuck on a hung call): not recovered.
        s = series((3, 2), (0, 0), (0, 0), (0, 0), (0, 0), (0, 0), (0, 0), (5, 0), (5, 0), (5, 0), (5, 0), (5, 0))
        rec = recovery(s, injected_at=T0, period_end=T0 + 12)
        assert rec.seconds == 3.0  # seconds 3..7 hold 5 requests, the first window with enough

    def test_never_recovered_before_the_next_drill(self) -> None:
        s = series((3, 2), (5, 1), (5, 0), (5, 0), (5, 1), (5, 0))
        rec = recovery(s, injected_at=T0, period_end=T0 + 6)
        assert rec.seconds is None
        assert rec.last_failure_seconds == 5.0

    def test_a_quiet_spell_while_the_component_is_still_down_is_not_recovery(self) -> None:
        # Stopped at T0 for 10 s: requests that need it fail now and then (seconds 1 and 7).
        counts = [(5, 0)] * 20
        counts[1], counts[7] = (4, 1), (4, 1)
        rec = recovery(series(*counts), injected_at=T0, period_end=T0 + 20, restored_at=T0 + 10)
        assert rec.seconds == 10.0
        assert rec.last_failure_seconds == 8.0

    def test_failures_after_the_period_are_not_this_drills(self) -> None:
        s = series((5, 0), (5, 0), (5, 0), (5, 0), (5, 0), (5, 0), (3, 3))
        assert recovery(s, injected_at=T0, period_end=T0 + 6).seconds == 0.0


def endpoint_row(t: int, name: str, failures: int, method: str = "POST") -> dict[str, str]:
    return {"Timestamp": str(t), "Type": method, "Name": name, "Total Failure Count": str(failures)}


class TestWhatFailed:
    def test_failures_per_request_name_inside_the_window(self) -> None:
        rows = [
            endpoint_row(T0, "/repayments/", 1),
            endpoint_row(T0 + 1, "/repayments/", 3),
            endpoint_row(T0 + 2, "/repayments/", 4),
            endpoint_row(T0 + 1, "/reports/", 0, method="GET"),
            endpoint_row(T0 + 2, "/reports/", 2, method="GET"),
            endpoint_row(T0 + 9, "/reports/", 5, method="GET"),
            {"Timestamp": str(T0 + 2), "Name": "Aggregated", "Total Failure Count": "99"},
        ]
        assert failing_requests(rows, T0 + 1, T0 + 3) == {"POST /repayments/": 3, "GET /reports/": 2}

    def test_kinds_of_failure_seen_in_the_window(self) -> None:
        rows = [
            {
                "Error": 'CatchResponseError(\'POST /x: 503 {"code":"vault_unavailable","message":""}\')',
                "First Seen": "2027-01-15T08:00:05Z",
                "Last Seen": "2027-01-15T08:00:09Z",
            },
            {
                "Error": 'CatchResponseError(\'GET /y: 500 {"code": "server_error"}\')',
                "First Seen": "2027-01-15T09:00:00Z",
                "Last Seen": "2027-01-15T09:00:00Z",
            },
            {
                "Error": "ConnectionResetError(104, 'Connection reset by peer')",
                "First Seen": "2027-01-15T08:00:08Z",
                "Last Seen": "2027-01-15T08:00:08Z",
            },
        ]
        rows.append(
            {
                "Error": "CatchResponseError('POST /api/v1/loans/{id}/repayments/: 0 ')",
                "First Seen": "2027-01-15T08:00:01Z",
                "Last Seen": "2027-01-15T08:00:01Z",
            }
        )
        eight = datetime(2027, 1, 15, 8, 0, 0, tzinfo=UTC).timestamp()
        assert failure_kinds(rows, eight, eight + 10) == [
            "503 vault_unavailable",
            "ConnectionResetError(104, 'Connection reset by peer')",
            "no answer (connection closed)",
        ]


def ack_line(**fields: object) -> str:
    return json.dumps({"t": 1.0, "status": 201, **fields})


def repayment(key: str, *, loan: str = "L1", amount: str = "10.00", txn: str = "T1", tenant: str = "khotso") -> str:
    return ack_line(
        kind="repayment", tenant=tenant, loan_id=loan, idempotency_key=key, amount=amount, transaction_id=txn
    )


def receipt(number: str, *, outcome: str = "applied", loan: str | None = "L1", txn: str | None = "T9") -> str:
    return ack_line(
        kind="mpesa",
        tenant="khotso",
        loan_id=loan,
        receipt_number=number,
        amount="7.00",
        transaction_id=txn,
        outcome=outcome,
        status=200 if outcome == "applied" else 202,
    )


class TestLoadAcks:
    def test_a_replayed_answer_is_the_same_acknowledgement(self) -> None:
        acks = load_acks([repayment("pay-1"), repayment("pay-1"), repayment("pay-2", txn="T2")])
        assert len(acks) == 2
        first = acks[("khotso", "repayment", "pay-1")]
        assert (first.answers, first.transaction_ids, first.amount) == (2, {"T1"}, Decimal("10.00"))

    def test_one_key_answered_with_two_transactions_keeps_both(self) -> None:
        acks = load_acks([repayment("pay-1", txn="T1"), repayment("pay-1", txn="T7")])
        assert acks[("khotso", "repayment", "pay-1")].transaction_ids == {"T1", "T7"}

    def test_keys_are_per_tenant_and_kind(self) -> None:
        acks = load_acks([repayment("pay-1"), repayment("pay-1", tenant="tsepo"), receipt("pay-1")])
        assert len(acks) == 3

    def test_torn_and_blank_lines_are_skipped(self) -> None:
        acks = load_acks(["", repayment("pay-1"), '{"kind": "repayment", "tenant": "kh', "not json"])
        assert list(acks) == [("khotso", "repayment", "pay-1")]


def txn(key: str, *, id: str = "T1", loan: str = "L1", amount: str = "10.00", reversed_by: str | None = None) -> TxnRow:
    return TxnRow(
        id=id, loan_id=loan, kind="repayment", idempotency_key=key, amount=Decimal(amount), reversed_by=reversed_by
    )


def check(lines: list[str], rows: TenantRows) -> AckCheck:
    return verify_acks(load_acks(lines).values(), {"khotso": rows})


class TestVerifyAcks:
    def test_each_acknowledged_repayment_found_once_is_ok(self) -> None:
        rows = TenantRows(transactions=[txn("pay-1")], journal_entries={"T1": 1})
        result = check([repayment("pay-1"), repayment("pay-1")], rows)
        assert result.ok
        assert result.checked == 1

    def test_an_acknowledged_repayment_missing_is_lost(self) -> None:
        result = check(
            [repayment("pay-1"), repayment("pay-2", txn="T2")], TenantRows([txn("pay-2", id="T2")], [], {"T2": 1})
        )
        assert result.lost == ["khotso repayment pay-1"]
        assert not result.ok

    def test_two_rows_for_one_key_are_doubled(self) -> None:
        rows = TenantRows([txn("pay-1", id="T1"), txn("pay-1", id="T2", loan="L2")], [], {"T1": 1, "T2": 1})
        result = check([repayment("pay-1")], rows)
        assert len(result.doubled) == 1
        assert not result.lost

    def test_a_key_answered_with_two_transactions_is_doubled(self) -> None:
        rows = TenantRows([txn("pay-1")], [], {"T1": 1})
        result = check([repayment("pay-1", txn="T1"), repayment("pay-1", txn="T2")], rows)
        assert len(result.doubled) == 1

    @pytest.mark.parametrize(
        ("row", "entries", "problem"),
        [
            (txn("pay-1", amount="11.00"), 1, "amount 11.00 != acknowledged 10.00"),
            (txn("pay-1", reversed_by="R1"), 1, "reversed by R1"),
            (txn("pay-1", id="T5"), 1, "transaction T5, acknowledged as ['T1']"),
            (txn("pay-1", loan="L9"), 1, "on loan L9, acknowledged for L1"),
            (txn("pay-1"), 0, "0 journal entries"),
        ],
    )
    def test_found_once_but_wrong_is_reported(self, row: TxnRow, entries: int, problem: str) -> None:
        result = check([repayment("pay-1")], TenantRows([row], [], {row.id: entries}))
        assert not result.lost
        assert not result.doubled
        assert problem in result.mismatched[0]

    def test_an_applied_receipt_needs_its_receipt_row_and_one_loan_transaction(self) -> None:
        good = TenantRows(
            [txn("mpesa:R1", id="T9", amount="7.00")],
            [ReceiptRow("R1", "applied", "L1", "T9", Decimal("7.00"))],
            {"T9": 1},
        )
        assert check([receipt("R1")], good).ok
        no_txn = TenantRows([], [ReceiptRow("R1", "applied", "L1", "T9", Decimal("7.00"))], {})
        assert check([receipt("R1")], no_txn).lost == ["khotso mpesa R1"]
        no_receipt = TenantRows([txn("mpesa:R1", id="T9", amount="7.00")], [], {"T9": 1})
        assert check([receipt("R1")], no_receipt).lost == ["khotso mpesa R1"]

    def test_a_receipt_in_suspense_must_not_also_be_applied(self) -> None:
        parked = [ReceiptRow("R2", "suspense", None, None, Decimal("7.00"))]
        line = receipt("R2", outcome="suspense", loan=None, txn=None)
        assert check([line], TenantRows([], parked, {})).ok
        both = TenantRows([txn("mpesa:R2", id="T3", amount="7.00")], parked, {"T3": 1})
        assert len(check([line], both).doubled) == 1

    def test_gateway_transactions_nobody_saw_acknowledged_are_counted_not_failed(self) -> None:
        rows = TenantRows(
            [txn("pay-1"), txn("pay-9", id="T8"), txn("mpesa:R7", id="T7"), txn("other-1", id="T6")],
            [],
            {"T1": 1},
        )
        result = check([repayment("pay-1")], rows)
        assert result.ok
        assert result.unacknowledged_in_db == 2

    def test_an_acknowledgement_read_after_the_rows_is_not_counted_as_unseen(self) -> None:
        rows = TenantRows([txn("pay-1"), txn("pay-9", id="T8")], [], {"T1": 1, "T8": 1})
        later = load_acks([repayment("pay-1"), repayment("pay-9", txn="T8")]).values()
        result = verify_acks(load_acks([repayment("pay-1")]).values(), {"khotso": rows}, later=later)
        assert result.checked == 1
        assert result.unacknowledged_in_db == 0


def loan(**changes: object) -> TenantLoan:
    base: dict[str, object] = {
        "loan_id": "L1",
        "status": "active",
        "balance": Decimal("900.00"),
        "days_past_due": 0,
        "arrears_bucket": "current",
        "last_sequence": 3,
        "all_published": True,
    }
    return TenantLoan(**{**base, **changes})  # type: ignore[arg-type]


def account(**changes: object) -> RegistryAccount:
    base: dict[str, object] = {"status": "active", "balance": Decimal("900.00"), "days_past_due": 0, "last_sequence": 3}
    return RegistryAccount(**{**base, **changes})  # type: ignore[arg-type]


def bucket(dpd: int) -> str:
    return "current" if dpd == 0 else "1-30"


class TestRegistryDifferences:
    def test_equal_loan_and_account_have_none(self) -> None:
        assert registry_differences(loan(), account(), bucket_of=bucket) == []

    def test_each_difference_is_named(self) -> None:
        diffs = registry_differences(
            loan(),
            account(status="closed", balance=Decimal("0.00"), days_past_due=4, last_sequence=2),
            bucket_of=bucket,
        )
        assert diffs == [
            "registry at event 2, outbox at 3",
            "status closed != active",
            "outstanding 0.00 != 900.00",
            "DPD 4 != 0",
            "bucket 1-30 != current",
        ]

    def test_a_loan_without_an_account_is_not_converged(self) -> None:
        assert registry_differences(loan(), None) == ["no registry account"]

    def test_the_bucket_is_compared_for_active_loans_only(self) -> None:
        closed = loan(status="closed", balance=Decimal("0.00"), arrears_bucket="current")
        assert registry_differences(closed, account(status="closed", balance=Decimal("0.00")), bucket_of=bucket) == []


def test_ack_is_keyed_by_tenant_kind_and_key() -> None:
    ack = Ack(
        kind="repayment",
        tenant="khotso",
        key="pay-1",
        loan_id="L1",
        amount=Decimal("1.00"),
        outcome="applied",
        first_t=0.0,
    )
    assert ack.ident == ("khotso", "repayment", "pay-1")


def drill_result(**changes: object) -> DrillResult:
    result = DrillResult(index=5, name="restart-pg-primary", title="restart the PostgreSQL primary")
    result.injected_at, result.restored_at, result.period_end = T0 + 1.2, T0 + 3.5, T0 + 9
    result.requests, result.failures, result.recovery_seconds = 40, 4, 2.8
    result.registry = {
        "khotso": {
            "converged": True,
            "loans_checked": 3,
            "outbox_undelivered": [],
            "differences": {},
            "waited_seconds": 1.0,
        }
    }
    result.trial_balance = {"khotso": {"debits": "10.00", "credits": "10.00"}}
    for name, value in changes.items():
        setattr(result, name, value)
    return result


class TestReport:
    def test_a_clean_drill_passes(self) -> None:
        result = drill_result()
        assert result.ok
        assert failure_reasons([result]) == []

    def test_a_process_the_drill_had_to_restart_fails_the_run(self) -> None:
        result = drill_result(restarted_by_drill=["relay-khotso"])
        assert not result.ok
        assert failure_reasons([result]) == [
            "drill 5 (restart the PostgreSQL primary): relay-khotso exited and had to be restarted by the drill "
            "(nothing in the local platform restarts a process)"
        ]

    def test_lost_unconverged_and_unbalanced_are_each_a_reason(self) -> None:
        result = drill_result(
            lost=["khotso repayment pay-1"],
            registry={"khotso": {"converged": False}},
            trial_balance={"khotso": {"debits": "10.00", "credits": "9.00"}},
        )
        assert [reason.split(": ", 1)[1] for reason in failure_reasons([result])] == [
            "1 acknowledged repayments lost",
            "the registry did not converge",
            "the trial balance does not balance",
        ]

    def test_the_files_are_written(self, tmp_path: Path) -> None:
        results = [drill_result(), drill_result(index=6, doubled=["khotso repayment pay-2: 2 rows"])]
        run = {
            "command": "loadtests/drills.py",
            "started": "2027-01-15 08:00:00 UTC",
            "machine": "2 CPUs",
            "users": 8,
            "mix": "all",
            "steady_seconds": 20,
            "load_seconds": 9.0,
            "requests": 80,
            "failures": 4,
            "drill_names": ["restart-pg-primary"],
        }
        points = series(*[(5, 0), (5, 0), (3, 2), (4, 2), (5, 0), (5, 0), (5, 0), (5, 0), (5, 0)])
        write_json(tmp_path / "drills.json", run=run, drills=results, series=points)
        plot(tmp_path / "drill.png", points, results, start=T0, end=T0 + 9, title="t")
        write_markdown(tmp_path / "drills.md", run=run, drills=results, images={"timeline": "drill.png"})
        assert json.loads((tmp_path / "drills.json").read_text())["drills"][1]["ok"] is False
        assert (tmp_path / "drill.png").stat().st_size > 0
        text = (tmp_path / "drills.md").read_text()
        assert "**Result: FAIL**" in text
        assert "| 5. restart the PostgreSQL primary |" in text
        assert "khotso repayment pay-2: 2 rows" in text
