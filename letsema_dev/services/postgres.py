"""PostgreSQL primary and streaming hot-standby replicas on 127.0.0.1, without Docker.

Uses the server binaries of the machine (Debian's ``postgresql`` package by
default; ``LETSEMA_PG_BIN`` points elsewhere). As root, every server binary runs
as the unprivileged ``postgres`` user (PostgreSQL refuses to run as root), and
the service folder is handed to that user.

Authentication: the Unix socket lives in a folder only the server's user (and
root) can enter and trusts local connections, which is how the supervisor and
the test fixtures administer the server. TCP on 127.0.0.1 requires SCRAM
passwords; those come from OpenBao's database engine.
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from letsema_dev.procs import LOOPBACK, wait_until

SUPERUSER = "postgres"


class PostgresNotInstalled(RuntimeError):
    pass


def find_bin_dir() -> Path:
    """The folder holding ``initdb``/``pg_ctl``/``pg_basebackup`` (newest Debian major first)."""
    env = os.environ.get("LETSEMA_PG_BIN")
    if env:
        return Path(env)
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0,
        reverse=True,
    )
    if candidates:
        return Path(candidates[0]).parent
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    raise PostgresNotInstalled(
        "PostgreSQL server binaries not found: install Debian's 'postgresql' package "
        "(scripts/bootstrap.sh does this as root) or set LETSEMA_PG_BIN to a folder holding initdb and pg_ctl"
    )


def _run_as() -> str | None:
    """The user to run server binaries as: ``postgres`` when we are root, else ourselves."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise PostgresNotInstalled("running as root needs a 'postgres' system user to run the server") from None
    return "postgres"


def _chown_tree(path: Path, user: str) -> None:
    pw = pwd.getpwnam(user)
    for root, dirs, files in os.walk(path):
        os.chown(root, pw.pw_uid, pw.pw_gid)
        for name in dirs + files:
            os.lchown(os.path.join(root, name), pw.pw_uid, pw.pw_gid)


@dataclass
class PostgresServer:
    """One PostgreSQL server: a data folder, a port on 127.0.0.1 and a private socket folder.

    ``base_dir`` holds ``data/``, ``run/`` (the socket) and ``postgres.log``.
    """

    base_dir: Path
    port: int
    name: str = "postgres"
    settings: dict[str, str] = field(default_factory=dict)
    bin_dir: Path = field(default_factory=find_bin_dir)

    host: str = LOOPBACK

    @property
    def data_dir(self) -> Path:
        return self.base_dir / "data"

    @property
    def socket_dir(self) -> Path:
        return self.base_dir / "run"

    @property
    def log_file(self) -> Path:
        return self.base_dir / "postgres.log"

    @property
    def is_initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    @property
    def is_standby(self) -> bool:
        return (self.data_dir / "standby.signal").exists()

    # -- commands --------------------------------------------------------------------------
    def _cmd(self, tool: str, *args: str) -> list[str]:
        argv = [str(self.bin_dir / tool), *args]
        user = _run_as()
        return ["runuser", "-u", user, "--", *argv] if user else argv

    def _exec(self, tool: str, *args: str, timeout: float = 120) -> str:
        proc = subprocess.run(
            self._cmd(tool, *args), capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
        )
        if proc.returncode != 0:
            raise RuntimeError(f"{tool} {' '.join(args)} failed ({proc.returncode}): {proc.stderr or proc.stdout}")
        return proc.stdout

    def _prepare_dirs(self) -> None:
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(exist_ok=True)
        os.chmod(self.socket_dir, 0o700)
        user = _run_as()
        if user:
            _chown_tree(self.base_dir, user)
            # The server's user must be able to reach its folder through every parent.
            parent = self.base_dir.parent
            while parent != parent.parent:
                mode = parent.stat().st_mode
                if not mode & 0o001:
                    os.chmod(parent, mode | 0o001)
                parent = parent.parent

    def initdb(self) -> None:
        """Create the cluster: UTF8, SCRAM on TCP, trust on the private socket, replication on."""
        self._prepare_dirs()
        self._exec(
            "initdb",
            "-D",
            str(self.data_dir),
            "-U",
            SUPERUSER,
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
        )
        with open(self.data_dir / "pg_hba.conf", "a") as hba:
            hba.write("\n# letsema: replicas stream over the private socket\nlocal replication all trust\n")
        with open(self.data_dir / "postgresql.conf", "a") as conf:
            conf.write("\ninclude_if_exists = 'letsema.conf'\n")

    def _write_settings(self) -> None:
        base = {
            "listen_addresses": f"'{LOOPBACK}'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.socket_dir}'",
            "wal_level": "replica",
            "max_wal_senders": "10",
            "max_replication_slots": "10",
            "hot_standby": "on",
            "hot_standby_feedback": "on",
            "max_connections": "200",
            "logging_collector": "off",
            "password_encryption": "scram-sha-256",
        }
        base.update(self.settings)
        text = "".join(f"{k} = {v}\n" for k, v in base.items())
        path = self.data_dir / "letsema.conf"
        path.write_text("# written by letsema_dev on every start\n" + text)
        user = _run_as()
        if user:
            _chown_tree(self.data_dir / "letsema.conf", user)

    def start(self, *, timeout: float = 60) -> None:
        """Start the server (no-op if it already runs) and wait until it accepts connections."""
        if self.is_running():
            return
        self._prepare_dirs()
        self._write_settings()
        self._exec(
            "pg_ctl",
            "-D",
            str(self.data_dir),
            "-l",
            str(self.log_file),
            "-w",
            "-t",
            str(int(timeout)),
            "start",
            timeout=timeout + 10,
        )
        wait_until(self.is_ready, timeout=timeout, what=f"{self.name} on port {self.port}")

    def stop(self, *, mode: str = "fast") -> None:
        if not self.data_dir.exists() or not self.is_running():
            return
        self._exec("pg_ctl", "-D", str(self.data_dir), "-m", mode, "-w", "stop")

    def pid(self) -> int | None:
        try:
            first = (self.data_dir / "postmaster.pid").read_text().splitlines()[0]
            return int(first)
        except (OSError, ValueError, IndexError):
            return None

    def is_running(self) -> bool:
        pid = self.pid()
        if pid is None:
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def is_ready(self) -> bool:
        proc = subprocess.run(
            [str(self.bin_dir / "pg_isready"), "-q", "-h", LOOPBACK, "-p", str(self.port)],
            capture_output=True,
        )
        return proc.returncode == 0

    # -- SQL -------------------------------------------------------------------------------
    def conninfo(self, dbname: str = "postgres", *, user: str = SUPERUSER) -> str:
        """A libpq conninfo over the private socket (trusted: for administration only)."""
        return f"host={self.socket_dir} port={self.port} dbname={dbname} user={user}"

    def connect(self, dbname: str = "postgres", **kwargs: Any) -> Any:
        import psycopg

        return psycopg.connect(self.conninfo(dbname), autocommit=True, **kwargs)

    def execute(self, sql: Any, params: Any = None, *, dbname: str = "postgres") -> list[tuple[Any, ...]]:
        with self.connect(dbname) as conn, conn.cursor() as cur:
            cur.execute(sql, params)
            return list(cur.fetchall()) if cur.description else []

    # -- replication -----------------------------------------------------------------------
    def create_replica(
        self, *, base_dir: Path, port: int, name: str = "replica", slot: str = "letsema_replica"
    ) -> PostgresServer:
        """Clone this primary with ``pg_basebackup -R`` into a hot standby streaming over a slot."""
        replica = PostgresServer(
            base_dir=base_dir, port=port, name=name, settings=dict(self.settings), bin_dir=self.bin_dir
        )
        replica._prepare_dirs()
        exists = self.execute("SELECT 1 FROM pg_replication_slots WHERE slot_name = %s", (slot,))
        self._exec(
            "pg_basebackup",
            "-h",
            str(self.socket_dir),
            "-p",
            str(self.port),
            "-U",
            SUPERUSER,
            "-D",
            str(replica.data_dir),
            "-R",
            "-X",
            "stream",
            "-c",
            "fast",
            "-S",
            slot,
            *([] if exists else ["-C"]),
            timeout=600,
        )
        return replica

    def point_standby_at(self, primary: PostgresServer) -> None:
        """Rewrite the standby's ``primary_conninfo`` for the primary's current port and socket."""
        auto = self.data_dir / "postgresql.auto.conf"
        text = auto.read_text()
        text = re.sub(r"port=\d+", f"port={primary.port}", text)
        auto.write_text(text)

    def replication_lag_bytes(self) -> int | None:
        rows = self.execute("SELECT pg_wal_lsn_diff(sent_lsn, replay_lsn) FROM pg_stat_replication")
        return int(rows[0][0]) if rows and rows[0][0] is not None else None
