"""The benchmark's measuring parts without any server: parsing Locust's and pgbench's outputs, the
command lines, the measured window, and the charts (loadtests/letsema_load/)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "loadtests"))

from letsema_load.ceilings import CeilingError, ceiling_gunicorn_argv, parse_pgbench
from letsema_load.measure import (
    WINDOW_ENV,
    LocustRunFailed,
    MeasuredWindow,
    OpStats,
    histogram_percentile,
    locust_argv,
    parse_exceptions_csv,
    parse_stats_csv,
    parse_stats_history,
    parse_stats_json,
)
from letsema_load.plots import per_second_rates, plot_history, plot_summary

pytestmark = pytest.mark.unit

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# Header and rows as Locust 2.47 writes them.
STATS_CSV = """\
Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,\
Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%
GET,/rows/{id},771,2,18,20.607181413685172,8.38,75.77,112.6,192.77250917824983,0.5,18,21,23,25,31,36,52,59,76,76,76
,Aggregated,771,2,18,20.607181413685172,8.38,75.77,112.6,192.77250917824983,0.5,18,21,23,25,31,36,52,59,76,76,76
"""

HISTORY_HEADER = (
    "Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%,"
    "Total Request Count,Total Failure Count,Total Median Response Time,Total Average Response Time,"
    "Total Min Response Time,Total Max Response Time,Total Average Content Size\n"
)


def history_row(ts: int, name: str, total: int, failures: int, p50: str = "10", p99: str = "40") -> str:
    kind = "" if name == "Aggregated" else "GET"
    pcts = f"{p50},12,13,14,20,30,35,{p99},50,50,50"
    return f"{ts},8,{kind},{name},0.000000,0.000000,{pcts},{total},{failures},10,11.5,3,50,11\n"


HISTORY_CSV = (
    HISTORY_HEADER
    + "100,0,,Aggregated,0.000000,0.000000,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,0,0,0,0.0,0,0,0\n"
    + history_row(101, "/constant", 200, 0)
    + history_row(101, "Aggregated", 200, 0)
    + history_row(102, "Aggregated", 500, 1)
    + history_row(103, "Aggregated", 120, 0)  # statistics reset between 102 and 103
    + history_row(105, "Aggregated", 520, 4)
)


def locust_json_entry(name: str, times: dict[int, int], failures: int, start: float, last: float) -> dict[str, object]:
    requests = sum(times.values())
    return {
        "name": name,
        "method": "GET",
        "last_request_timestamp": last,
        "start_time": start,
        "num_requests": requests,
        "num_none_requests": 0,
        "num_failures": failures,
        "total_response_time": sum(ms * n for ms, n in times.items()),
        "max_response_time": max(times),
        "min_response_time": min(times),
        "total_content_length": 100 * requests,
        # json.dump turns the int keys into strings, as Locust's file has them
        "response_times": times,
        "num_reqs_per_sec": {},
        "num_fail_per_sec": {},
    }


PGBENCH_15 = """\
pgbench (15.18 (Debian 15.18-0+deb12u1))
transaction type: <builtin: simple update>
scaling factor: 10
query mode: simple
number of clients: 8
number of threads: 2
maximum number of tries: 1
duration: 10 s
number of transactions actually processed: 51234
number of failed transactions: 0 (0.000%)
latency average = 1.561 ms
initial connection time = 99.937 ms
tps = 5123.456789 (without initial connection time)
"""

PGBENCH_13 = """\
number of transactions actually processed: 1000
latency average = 8.000 ms
tps = 990.000000 (including connections establishing)
tps = 1000.000000 (excluding connections establishing)
"""


class TestHistogramPercentile:
    def test_follows_locusts_rule_from_the_slowest_bucket_down(self) -> None:
        times = {10: 50, 20: 45, 100: 5}
        assert histogram_percentile(times, 0.50) == 20
        assert histogram_percentile(times, 0.90) == 20
        # exactly 5 % at 100 ms: Locust's rule answers the slower bucket
        assert histogram_percentile(times, 0.95) == 100
        assert histogram_percentile(times, 0.99) == 100

    def test_is_zero_for_no_requests(self) -> None:
        assert histogram_percentile({}, 0.95) == 0


class TestParseStatsJson:
    def test_merges_every_request_name_into_one_total(self, tmp_path: Path) -> None:
        path = tmp_path / "run.json"
        path.write_text(
            json.dumps(
                [
                    locust_json_entry("/a", {10: 90, 30: 10}, failures=1, start=1000.0, last=1010.0),
                    locust_json_entry("/b", {20: 100}, failures=3, start=1000.5, last=1009.0),
                ]
            )
        )
        totals = parse_stats_json(path)
        assert (totals.requests, totals.failures) == (200, 4)
        assert totals.seconds == pytest.approx(10.0)
        assert totals.rps == pytest.approx(20.0)
        assert totals.mean_ms == pytest.approx((900 + 300 + 2000) / 200)
        # merged histogram {10: 90, 20: 100, 30: 10}
        assert (totals.p50_ms, totals.p95_ms, totals.p99_ms) == (20.0, 30.0, 30.0)

    def test_refuses_a_run_without_requests(self, tmp_path: Path) -> None:
        path = tmp_path / "empty.json"
        path.write_text("[]")
        with pytest.raises(LocustRunFailed, match="no request"):
            parse_stats_json(path)


class TestParseStatsCsv:
    def test_reads_the_aggregated_row(self, tmp_path: Path) -> None:
        path = tmp_path / "run_stats.csv"
        path.write_text(STATS_CSV)
        totals = parse_stats_csv(path)
        assert (totals.requests, totals.failures) == (771, 2)
        assert totals.rps == pytest.approx(192.7725, rel=1e-4)
        assert (totals.p50_ms, totals.p95_ms, totals.p99_ms) == (18.0, 36.0, 59.0)
        assert totals.mean_ms == pytest.approx(20.607, rel=1e-3)
        assert totals.seconds == pytest.approx(771 / 192.77250917824983)

    def test_refuses_a_file_without_an_aggregated_row(self, tmp_path: Path) -> None:
        path = tmp_path / "run_stats.csv"
        path.write_text(STATS_CSV.splitlines()[0] + "\n")
        with pytest.raises(LocustRunFailed, match="no Aggregated row"):
            parse_stats_csv(path)


class TestParseExceptionsCsv:
    def test_lists_what_user_code_raised(self, tmp_path: Path) -> None:
        path = tmp_path / "run_exceptions.csv"
        path.write_text('Count,Message,Traceback,Nodes\n3,"RuntimeError(\'token: 401\')","Traceback ...",local\n')
        assert parse_exceptions_csv(path) == ["3x RuntimeError('token: 401')"]

    def test_is_empty_with_a_header_only_or_no_file(self, tmp_path: Path) -> None:
        path = tmp_path / "run_exceptions.csv"
        path.write_text("Count,Message,Traceback,Nodes\n")
        assert parse_exceptions_csv(path) == []
        assert parse_exceptions_csv(tmp_path / "missing.csv") == []


class TestStatsHistory:
    def test_keeps_only_aggregated_rows_in_order(self, tmp_path: Path) -> None:
        path = tmp_path / "run_stats_history.csv"
        path.write_text(HISTORY_CSV)
        rows = parse_stats_history(path)
        assert [r.timestamp for r in rows] == [100, 101, 102, 103, 105]
        assert rows[0].p50_ms == 0.0  # "N/A" before the first request
        assert (rows[2].total_requests, rows[2].total_failures, rows[2].p99_ms) == (500, 1, 40.0)

    def test_rates_come_from_the_totals_and_survive_a_reset(self, tmp_path: Path) -> None:
        path = tmp_path / "run_stats_history.csv"
        path.write_text(HISTORY_CSV)
        rates = per_second_rates(parse_stats_history(path))
        assert rates == [(0.0, 0.0), (200.0, 0.0), (300.0, 1.0), (120.0, 0.0), (200.0, 2.0)]


class TestPgbench:
    def test_reads_tps_without_connection_time_and_the_counts(self) -> None:
        parsed = parse_pgbench(PGBENCH_15)
        assert parsed == {"tps": 5123.456789, "latency_avg_ms": 1.561, "transactions": 51234.0, "failed": 0.0}

    def test_prefers_the_tps_excluding_connections_of_older_versions(self) -> None:
        assert parse_pgbench(PGBENCH_13)["tps"] == 1000.0

    def test_refuses_output_without_tps(self) -> None:
        with pytest.raises(CeilingError, match="no tps"):
            parse_pgbench("pgbench: error: connection refused\n")


class TestLocustArgv:
    def test_names_the_user_classes_last_and_asks_for_every_output(self, tmp_path: Path) -> None:
        argv = locust_argv(
            locustfile=Path("bench.py"),
            user_classes=["GetLoan"],
            host="http://127.0.0.1:8101",
            users=8,
            spawn_rate=8,
            seconds=70,
            prefix=tmp_path / "GetLoan",
            reset_stats=True,
        )
        assert argv[-1] == "GetLoan"
        assert argv[argv.index("-t") + 1] == "70s"
        assert argv[argv.index("--csv") + 1] == str(tmp_path / "GetLoan")
        assert argv[argv.index("--json-file") + 1] == str(tmp_path / "GetLoan")
        assert {"--headless", "--only-summary", "--reset-stats", "--csv-full-history"} <= set(argv)

    def test_a_warm_up_writes_nothing(self) -> None:
        argv = locust_argv(
            locustfile=Path("bench.py"),
            user_classes=["CeilingRow"],
            host="http://127.0.0.1:9",
            users=2,
            spawn_rate=2,
            seconds=5,
            prefix=None,
            reset_stats=False,
        )
        assert not {"--csv", "--json-file", "--reset-stats"} & set(argv)


class TestCeilingGunicornArgv:
    def test_serves_the_ceiling_app_with_the_tenant_apis_server_settings(self, tmp_path: Path) -> None:
        from letsema_dev.stack import _api_argv

        api = _api_argv(SimpleNamespace(root=tmp_path, ports={"api-khotso": 8101}), "api-khotso")  # type: ignore[arg-type]
        ceiling = ceiling_gunicorn_argv(9999, tmp_path)
        assert "ceiling.wsgi:application" in ceiling
        assert "letsema_api.wsgi:application" not in ceiling
        assert ceiling[ceiling.index("--bind") + 1] == "127.0.0.1:9999"
        for option in ("--workers", "--access-logfile", "--graceful-timeout", "--worker-class", "--threads"):
            if option in api:
                assert ceiling[ceiling.index(option) + 1] == api[api.index(option) + 1], option
            else:
                assert option not in ceiling, option


class _FakeStats:
    def __init__(self) -> None:
        self.resets = 0

    def reset_all(self) -> None:
        self.resets += 1


class TestMeasuredWindow:
    def test_empties_the_statistics_once_when_the_last_user_is_ready(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv(WINDOW_ENV, raising=False)
        environment = SimpleNamespace(runner=SimpleNamespace(target_user_count=3), stats=_FakeStats())
        window = MeasuredWindow()
        window.user_ready(environment)
        window.user_ready(environment)
        assert environment.stats.resets == 0
        window.user_ready(environment)
        window.user_ready(environment)  # a user restarted later changes nothing
        assert environment.stats.resets == 1

    def test_users_ready_after_the_start_do_not_wait(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv(WINDOW_ENV, raising=False)
        environment = SimpleNamespace(runner=SimpleNamespace(target_user_count=1), stats=_FakeStats())
        window = MeasuredWindow()
        window.user_ready(environment)
        window.wait_until_all_ready(timeout=0)  # returns at once: no event is made
        assert window.started


def op(name: str, rps: float) -> OpStats:
    return OpStats(name, 100, 0, rps, 10.0, 20.0, 30.0, 12.0, 10.0, 8, f"/tmp/{name}")


class TestPlots:
    def test_history_is_a_non_empty_png(self, tmp_path: Path) -> None:
        (tmp_path / "run_stats_history.csv").write_text(HISTORY_CSV)
        png = plot_history(tmp_path / "run", tmp_path / "out" / "run.png", "GetLoan, 8 users")
        assert png.stat().st_size > 1000
        assert png.read_bytes().startswith(PNG_SIGNATURE)

    def test_summary_is_a_non_empty_png(self, tmp_path: Path) -> None:
        ceilings = {"pgbench": {"tps": 5000.0}, "get_row": op("ceiling-get_row", 2600.0), "post_write": op("w", 1250.0)}
        stats = [op("PostRepayment", 500.0), op("GetLoan", 1400.0), op("CreditReport", 50.0), op("Other", 10.0)]
        png = plot_summary(stats, ceilings, tmp_path / "summary.png")
        assert png.stat().st_size > 1000
        assert png.read_bytes().startswith(PNG_SIGNATURE)

    def test_summary_refuses_no_operation(self, tmp_path: Path) -> None:
        with pytest.raises(ValueError, match="no operation"):
            plot_summary([], {}, tmp_path / "summary.png")


class TestOpStats:
    def test_to_dict_holds_every_field(self) -> None:
        data = op("GetLoan", 1400.0).to_dict()
        assert (data["name"], data["rps"], data["csv_prefix"]) == ("GetLoan", 1400.0, "/tmp/GetLoan")
        assert set(data) == {
            "name", "requests", "failures", "rps", "p50_ms", "p95_ms", "p99_ms", "mean_ms", "seconds", "users",
            "csv_prefix",
        }  # fmt: skip
