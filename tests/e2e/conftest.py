"""Fixtures of the e2e tier: one demo platform shared by the suites that only use it.

``letsema dev up`` of a fresh platform costs 35–60 s. The cross-MFI journey and the Locust smoke run
both want the platform as ``make run`` leaves it, so they share ``demo_platform`` (the journey first:
it reads the seeded borrowers; the smoke run only adds load and asserts on its own requests).
test_dev_platform.py drives ``up``/``down`` itself and keeps a platform of its own.

The users of ``demo_platform`` run one after another, and the platform is stopped right after the
last of them rather than at the end of the session, so it does not idle under the later tiers.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from letsema_dev.testing import dev_platform_env, run_letsema

SHARED = "demo_platform"
_platform = contextlib.ExitStack()


@pytest.fixture(scope="session")
def demo_platform() -> dict[str, str]:
    """The environment of a private local platform started with ``letsema dev up`` (demo data seeded)."""
    env = _platform.enter_context(dev_platform_env("demo"))
    up = run_letsema(env, "dev", "up")
    assert up.returncode == 0, up.stdout + up.stderr
    return env


def _uses_platform(item: pytest.Item) -> bool:
    return SHARED in getattr(item, "fixturenames", ())


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the tests that use the shared platform back to back (in their collected order)."""
    users = [item for item in items if _uses_platform(item)]
    if users:
        first = items.index(users[0])
        rest = [item for item in items if not _uses_platform(item)]
        items[:] = rest[:first] + users + rest[first:]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    yield
    if _uses_platform(item):
        later = item.session.items[item.session.items.index(item) + 1 :]
        if not any(_uses_platform(other) for other in later):
            _platform.close()


def pytest_sessionfinish() -> None:
    _platform.close()  # when the last user did not run (interrupted, -x)
