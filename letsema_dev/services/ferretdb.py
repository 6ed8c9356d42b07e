"""A MongoDB-wire-protocol server: FerretDB v1 built from its Go module, on SQLite.

``go install …/cmd/ferretdb@v1.24.2`` builds a binary that panics at start: the
module expects a generated ``build/version/version.txt`` that is not in the
published module. So the build copies the module source from Go's module cache
into the tools folder, writes that file, and builds there.

Known limits of FerretDB v1 (seen here): no ``Decimal128`` (the connection is
dropped), no multi-document transactions, ``$max`` ignored on upsert.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from letsema_dev.gobuild import build_go_command
from letsema_dev.paths import tools_dir
from letsema_dev.procs import (
    LOOPBACK,
    free_port,
    pid_alive,
    port_accepts,
    read_pid,
    start_detached,
    stop_pid,
    wait_until,
)

FERRETDB_MODULE = "github.com/FerretDB/FerretDB"
FERRETDB_VERSION = "v1.24.2"


def ferretdb_binary() -> Path:
    return tools_dir() / "bin" / "ferretdb"


def _write_version(src: Path) -> None:
    (src / "build" / "version" / "version.txt").write_text(FERRETDB_VERSION + "\n")


def build_ferretdb(*, quiet: bool = False) -> Path:
    """Build FerretDB into the tools folder unless it is already there; return the binary."""
    return build_go_command(
        module=FERRETDB_MODULE,
        version=FERRETDB_VERSION,
        package="cmd/ferretdb",
        binary_name="ferretdb",
        prepare=_write_version,
        quiet=quiet,
    )


@dataclass
class FerretDBServer:
    base_dir: Path
    port: int
    #: ``postgres://`` URL of a database to keep the documents in (FerretDB's PostgreSQL backend, which pushes
    #: equality filters on strings down to SQL and builds real indexes); None: the SQLite backend under
    #: ``base_dir``, which pushes down only ``_id`` equality and so scans a collection for any other filter.
    postgresql_url: str | None = None

    @property
    def url(self) -> str:
        return f"mongodb://{LOOPBACK}:{self.port}/"

    @property
    def log_file(self) -> Path:
        return self.base_dir / "ferretdb.log"

    @property
    def pid_file(self) -> Path:
        return self.base_dir / "ferretdb.pid"

    def start(self, *, timeout: float = 30) -> None:
        if self.is_running():
            return
        data = self.base_dir / "data"
        state = self.base_dir / "state"
        data.mkdir(parents=True, exist_ok=True)
        state.mkdir(parents=True, exist_ok=True)
        if self.postgresql_url:
            backend = ["--handler=postgresql", f"--postgresql-url={self.postgresql_url}"]
        else:
            backend = ["--handler=sqlite", f"--sqlite-url=file:{data}/"]
        argv = [
            str(build_ferretdb()),
            *backend,
            f"--listen-addr={LOOPBACK}:{self.port}",
            f"--state-dir={state}",
            f"--debug-addr={LOOPBACK}:{free_port()}",
            "--telemetry=disable",
            "--log-level=warn",
        ]
        start_detached(argv, log_file=self.log_file, pid_file=self.pid_file)
        wait_until(self.is_ready, timeout=timeout, what=f"FerretDB on port {self.port} (log: {self.log_file})")

    def is_running(self) -> bool:
        pid = read_pid(self.pid_file)
        return pid is not None and pid_alive(pid)

    def is_ready(self) -> bool:
        if not port_accepts(self.port):
            return False
        import pymongo

        client: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(self.url, serverSelectionTimeoutMS=1000)
        try:
            return bool(client.admin.command("ping").get("ok"))
        finally:
            client.close()

    def stop(self) -> None:
        pid = read_pid(self.pid_file)
        if pid is not None:
            stop_pid(pid)
        self.pid_file.unlink(missing_ok=True)
