"""The local platform keeps the FerretDB backend its registry was created in (letsema_dev/stack.py), so a start
of the same state folder without ``LETSEMA_FERRETDB_BACKEND`` cannot serve an empty registry from the other
backend. No server is started: ``MongoDB.start`` is run against stand-ins for the FerretDB and PostgreSQL servers."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from letsema_dev.stack import MongoDB, ferretdb_backend, ferretdb_backend_file

pytestmark = pytest.mark.unit


class _Server:
    """Stands in for FerretDBServer / PostgresServer: records start(), answers the database check."""

    def __init__(self, postgresql_url: str | None = None) -> None:
        self.postgresql_url = postgresql_url
        self.port = 1
        self.started = 0

    def is_running(self) -> bool:
        return True

    def start(self) -> None:
        self.started += 1

    def execute(self, sql: str, params: Any = None) -> list[Any]:
        return [(1,)]


def test_default_is_sqlite_and_the_variable_chooses_before_the_first_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LETSEMA_FERRETDB_BACKEND", raising=False)
    assert ferretdb_backend(tmp_path) == "sqlite"
    monkeypatch.setenv("LETSEMA_FERRETDB_BACKEND", "postgresql")
    assert ferretdb_backend(tmp_path) == "postgresql"


def test_the_first_start_records_the_backend_and_later_starts_keep_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mongo = _Server(postgresql_url="postgres://postgres@/ferretdb")
    MongoDB(ctx=SimpleNamespace(root=tmp_path, mongo=mongo, primary=_Server())).start()  # type: ignore[arg-type]
    assert mongo.started == 1
    assert ferretdb_backend_file(tmp_path).read_text().strip() == "postgresql"
    monkeypatch.delenv("LETSEMA_FERRETDB_BACKEND", raising=False)
    assert ferretdb_backend(tmp_path) == "postgresql"  # not the sqlite default


def test_a_variable_that_contradicts_the_record_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    record = ferretdb_backend_file(tmp_path)
    record.parent.mkdir(parents=True)
    record.write_text("postgresql\n")
    monkeypatch.setenv("LETSEMA_FERRETDB_BACKEND", "sqlite")
    with pytest.raises(ValueError, match="lives in FerretDB's postgresql backend"):
        ferretdb_backend(tmp_path)


def test_an_unknown_backend_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LETSEMA_FERRETDB_BACKEND", "mysql")
    with pytest.raises(ValueError, match="must be sqlite or postgresql"):
        ferretdb_backend(tmp_path)
