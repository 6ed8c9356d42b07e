"""A short Locust run against a private local platform: every user class works and nothing fails.

This is the smoke part of the load suites (``loadtests/locustfile.py``): six users for 20 seconds,
headless, in a subprocess as an operator would run it. Statistics are read from ``--json-file`` (the
CSV totals can lag the final ones) and per user class from the suite's ``--class-stats-file``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
LOCUSTFILE = ROOT / "loadtests" / "locustfile.py"
USER_CLASSES = {"LoanOfficer", "BranchManager", "PaymentGateway", "Analyst", "CrossMfiInquirer"}
#: fewer requests than this in 20 s with 6 users means users stalled (a healthy run makes ~150)
MIN_REQUESTS = 60


@pytest.fixture(scope="module")
def platform(demo_platform: dict[str, str]) -> tuple[dict[str, str], Path]:
    return demo_platform, Path(demo_platform["LETSEMA_STATE_DIR"]) / "demo-credentials.json"


@pytest.fixture(scope="module")
def run(platform: tuple[dict[str, str], Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    env, credentials = platform
    out = tmp_path_factory.mktemp("locust")
    khotso = json.loads(credentials.read_text())["khotso"]["url"]
    done = subprocess.run(
        [
            sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
            "--host", khotso, "--credentials", str(credentials),
            "-u", "6", "-r", "3", "-t", "20s", "--stop-timeout", "10",
            "--json-file", str(out / "stats"), "--csv", str(out / "stats"),
            "--class-stats-file", str(out / "classes.json"),
            "--exit-code-on-error", "1", "--only-summary", "--loglevel", "WARNING",
        ],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=90,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    return {
        "returncode": done.returncode,
        "output": done.stdout + done.stderr,
        "stats": json.loads((out / "stats.json").read_text()),
        "classes": json.loads((out / "classes.json").read_text()),
    }


def _failures(run: dict[str, Any]) -> list[str]:
    return [f"{row['method']} {row['name']}: {row['num_failures']}" for row in run["stats"] if row["num_failures"]]


class TestLocustSmoke:
    def test_no_request_fails(self, run: dict[str, Any]) -> None:
        failures = _failures(run)
        if failures:
            print(run["output"])  # the failures table and its messages
        assert failures == []
        assert run["returncode"] == 0, run["output"]

    def test_every_user_class_makes_requests(self, run: dict[str, Any]) -> None:
        classes = run["classes"]
        assert set(classes) == USER_CLASSES, classes
        assert all(counts["requests"] > 0 for counts in classes.values()), classes
        assert sum(counts["failures"] for counts in classes.values()) == 0, classes

    def test_enough_requests_are_made(self, run: dict[str, Any]) -> None:
        total = sum(row["num_requests"] for row in run["stats"])
        assert total >= MIN_REQUESTS, run["output"]

    def test_the_lending_journey_runs_end_to_end_under_load(self, run: dict[str, Any]) -> None:
        counts = {f"{row['method']} {row['name']}": row["num_requests"] for row in run["stats"]}
        for name in (
            "POST /o/token/ [password]",
            "POST /o/token/ [client_credentials]",
            "POST /api/v1/loan-applications/{id}/assess/",
            "POST /api/v1/loan-applications/{id}/approve/",
            "POST /api/v1/loan-applications/{id}/disburse/",
            "POST /api/v1/payments/mpesa/callback/",
            "POST /api/v1/credit-reports/",
        ):
            assert counts.get(name, 0) > 0, (name, sorted(counts))
