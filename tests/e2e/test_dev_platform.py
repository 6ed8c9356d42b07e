"""``letsema dev up|status|down`` as a developer runs it, in a private state folder.

This drives the real supervisor as a subprocess: PostgreSQL primary + replica,
OpenBao with persistent raft storage (initialised, then unsealed again after a
restart), and the MongoDB-protocol server, on free loopback ports.
"""

from __future__ import annotations

import base64
import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import hvac
import pymongo
import pytest

from letsema_dev.testing import dev_platform_env, run_letsema

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SERVICES = (
    "postgres-primary",
    "postgres-replica",
    "openbao",
    "mongodb",
    "api-khotso",
    "api-tsepo",
    "relay-khotso",
    "relay-tsepo",
)


_letsema = run_letsema


@pytest.fixture(scope="module")
def platform_env() -> Iterator[dict[str, str]]:
    with dev_platform_env() as env:
        yield env


def _platform(env: dict[str, str]) -> dict[str, object]:
    return dict(json.loads((Path(env["LETSEMA_STATE_DIR"]) / "platform.json").read_text()))


def _root_client(env: dict[str, str]) -> hvac.Client:
    info = _platform(env)
    init = json.loads(Path(info["openbao"]["init_file"]).read_text())  # type: ignore[index]
    return hvac.Client(url=info["openbao"]["url"], token=init["root_token"])  # type: ignore[index]


def _psql(env: dict[str, str], sql: str, *, db: str = "letsema_khotso", replica: bool = False) -> str:
    info = _platform(env)["postgres"]
    node = info["replica" if replica else "primary"]  # type: ignore[index]
    code = (
        "import sys, psycopg\n"
        f"c = psycopg.connect(host={node['socket_dir']!r}, port={node['port']}, dbname={db!r}, user='postgres', "
        "autocommit=True)\n"
        "cur = c.execute(sys.argv[1])\n"
        "print(cur.fetchall() if cur.description else 'ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code, sql], capture_output=True, text=True, check=True)
    return out.stdout.strip()


class TestDevPlatform:
    def test_up_starts_every_service_healthy_and_status_says_so(self, platform_env: dict[str, str]) -> None:
        up = _letsema(platform_env, "dev", "up")
        assert up.returncode == 0, up.stdout + up.stderr
        status = _letsema(platform_env, "dev", "status")
        assert status.returncode == 0, status.stdout
        lines = {line.split()[0]: line for line in status.stdout.splitlines()[1:]}
        for name in SERVICES:
            assert " healthy " in lines[name], status.stdout
            assert ".log" in lines[name]
        assert str(platform_env["LETSEMA_PG_PORT"]) in lines["postgres-primary"]
        init_file = Path(_platform(platform_env)["openbao"]["init_file"])  # type: ignore[index]
        assert oct(init_file.stat().st_mode & 0o777) == "0o600"

    def test_data_survives_down_and_up(self, platform_env: dict[str, str]) -> None:
        client = _root_client(platform_env)
        _psql(platform_env, "CREATE TABLE IF NOT EXISTS survivor (note text)")
        _psql(platform_env, "INSERT INTO survivor VALUES ('kept across restarts')")
        client.secrets.kv.v2.create_or_update_secret(
            path="letsema/khotso/e2e-probe", secret={"value": "still here"}, mount_point="secret"
        )
        plaintext = base64.b64encode(b"Ntate Mokoena, 012345678901").decode()
        ciphertext = client.secrets.transit.encrypt_data(name="pii-khotso", plaintext=plaintext)["data"]["ciphertext"]
        mongo: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(
            _platform(platform_env)["mongodb"]["url"],  # type: ignore[index]
            serverSelectionTimeoutMS=5000,
        )
        mongo["letsema_e2e"]["probe"].insert_one({"k": "kept"})
        mongo.close()

        down = _letsema(platform_env, "dev", "down")
        assert down.returncode == 0, down.stderr
        stopped = _letsema(platform_env, "dev", "status")
        assert stopped.returncode == 1
        assert stopped.stdout.count(" stopped ") == len(SERVICES), stopped.stdout

        up = _letsema(platform_env, "dev", "up")
        assert up.returncode == 0, up.stdout + up.stderr

        assert _psql(platform_env, "SELECT note FROM survivor") == "[('kept across restarts',)]"
        client = _root_client(platform_env)
        secret = client.secrets.kv.v2.read_secret_version(
            path="letsema/khotso/e2e-probe", mount_point="secret", raise_on_deleted_version=True
        )
        assert secret["data"]["data"] == {"value": "still here"}
        decrypted = client.secrets.transit.decrypt_data(name="pii-khotso", ciphertext=ciphertext)["data"]["plaintext"]
        assert base64.b64decode(decrypted).decode() == "Ntate Mokoena, 012345678901"
        mongo = pymongo.MongoClient(_platform(platform_env)["mongodb"]["url"], serverSelectionTimeoutMS=5000)  # type: ignore[index]
        assert mongo["letsema_e2e"]["probe"].find_one({"k": "kept"}) is not None
        mongo.close()
        # The replica caught up with what was written before the restart.
        assert _psql(platform_env, "SELECT count(*) FROM survivor", replica=True) == "[(1,)]"

    def test_each_tenant_api_is_ready_on_its_own_database_role(self, platform_env: dict[str, str]) -> None:
        import urllib.request

        for tenant, var in (("khotso", "LETSEMA_API_KHOTSO_PORT"), ("tsepo", "LETSEMA_API_TSEPO_PORT")):
            with urllib.request.urlopen(f"http://127.0.0.1:{platform_env[var]}/readyz", timeout=10) as resp:
                body = json.loads(resp.read())
            assert body["status"] == "ready", body
            assert body["checks"]["database"]["role"] == f"{tenant}_owner"

    def test_demo_users_get_tokens_and_a_token_works_only_at_its_own_tenant(self, platform_env: dict[str, str]) -> None:
        import requests

        creds = json.loads((Path(platform_env["LETSEMA_STATE_DIR"]) / "demo-credentials.json").read_text())
        assert set(creds) == {"khotso", "tsepo"}
        assert (
            oct((Path(platform_env["LETSEMA_STATE_DIR"]) / "demo-credentials.json").stat().st_mode & 0o777) == "0o600"
        )
        khotso, tsepo = creds["khotso"], creds["tsepo"]
        assert set(khotso["users"]) == {"admin", "manager", "officer", "officer2", "auditor", "mpesa"}
        client = khotso["oauth_clients"]["letsema-staff-app"]
        token = requests.post(
            khotso["token_url"],
            data={"grant_type": "password", "username": "officer", "password": khotso["users"]["officer"]["password"]},
            auth=(client["client_id"], client["client_secret"]),
            timeout=30,
        )
        assert token.status_code == 200, token.text
        bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
        listed = requests.get(f"{khotso['url']}/api/v1/borrowers/", headers=bearer, timeout=30)
        assert listed.status_code == 200, listed.text
        page = listed.json()
        assert len(page["results"]) == 4  # the borrowers list is cursor-paged: {next, previous, results}
        assert page["next"] is None
        products = requests.get(f"{khotso['url']}/api/v1/loan-products/", headers=bearer, timeout=30)
        assert {p["code"] for p in products.json()["results"]} == {"BIZ-MONTHLY", "GROUP-WEEKLY"}
        # Tenants cannot see each other: Khotso's token means nothing to Tšepo.
        refused = requests.get(f"{tsepo['url']}/api/v1/borrowers/", headers=bearer, timeout=30)
        assert refused.status_code == 401
        assert refused.json()["code"] in {"not_authenticated", "authentication_failed"}

    def test_dynamic_credentials_work_after_restart(self, platform_env: dict[str, str]) -> None:
        import psycopg

        client = _root_client(platform_env)
        creds = client.secrets.database.generate_credentials(name="tsepo-app")["data"]
        with psycopg.connect(
            host="127.0.0.1",
            port=int(platform_env["LETSEMA_PG_PORT"]),
            dbname="letsema_tsepo",
            user=creds["username"],
            password=creds["password"],
        ) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == ("letsema_tsepo",)

    def test_a_port_in_use_is_named_with_the_variable_to_change_it(self, platform_env: dict[str, str]) -> None:
        _letsema(platform_env, "dev", "down")
        with socket.socket() as blocker:
            # SO_REUSEADDR: connections of the stopped server may linger in TIME_WAIT on this port.
            blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            blocker.bind(("127.0.0.1", int(platform_env["LETSEMA_PG_PORT"])))
            blocker.listen()
            result = _letsema(platform_env, "dev", "up")
        assert result.returncode == 3
        assert f"port {platform_env['LETSEMA_PG_PORT']}" in result.stderr
        assert "LETSEMA_PG_PORT" in result.stderr
