"""The real services every tier stands on: PostgreSQL with a streaming replica,
OpenBao's database engine, Transit and KV, and the MongoDB-wire-protocol server."""

from __future__ import annotations

import base64
import contextlib
import time
import uuid

import psycopg
import pymongo
import pytest
from pymongo.errors import DuplicateKeyError

from letsema_dev.testing import PgCluster, VaultPlatform

pytestmark = pytest.mark.integration


class TestStreamingReplica:
    def test_row_written_on_primary_is_readable_on_replica_within_a_second(self, pg_cluster: PgCluster) -> None:
        marker = uuid.uuid4().hex
        pg_cluster.primary.execute("CREATE TABLE IF NOT EXISTS replication_probe (marker text PRIMARY KEY)")
        pg_cluster.primary.execute("INSERT INTO replication_probe VALUES (%s)", (marker,))
        written = time.monotonic()
        seen = []
        while time.monotonic() - written < 1.0 and not seen:
            # UndefinedTable: the CREATE TABLE itself has not been replayed yet.
            with contextlib.suppress(psycopg.errors.UndefinedTable):
                seen = pg_cluster.replica.execute("SELECT marker FROM replication_probe WHERE marker = %s", (marker,))
            if not seen:
                time.sleep(0.01)
        assert seen == [(marker,)], "the row did not reach the replica within one second"

    def test_replica_is_a_hot_standby_that_refuses_writes(self, pg_cluster: PgCluster) -> None:
        assert pg_cluster.replica.execute("SELECT pg_is_in_recovery()") == [(True,)]
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            pg_cluster.replica.execute("CREATE TABLE must_not_exist (x int)")

    def test_primary_streams_to_the_replica(self, pg_cluster: PgCluster) -> None:
        rows = pg_cluster.primary.execute("SELECT state FROM pg_stat_replication")
        assert rows == [("streaming",)]


class TestOpenBaoDatabaseEngine:
    def _login(self, platform: VaultPlatform, username: str, password: str) -> psycopg.Connection[tuple[object, ...]]:
        tenant = platform.tenants[0]
        return psycopg.connect(
            host="127.0.0.1",
            port=platform.pg.primary.port,
            dbname=tenant.database,
            user=username,
            password=password,
            connect_timeout=5,
        )

    def test_dynamic_credential_logs_in_until_its_lease_is_revoked(self, vault_platform: VaultPlatform) -> None:
        client = vault_platform.client()
        tenant = vault_platform.tenants[0]
        creds = client.secrets.database.generate_credentials(name=tenant.db_role)
        username, password = creds["data"]["username"], creds["data"]["password"]

        with self._login(vault_platform, username, password) as conn:
            # Tables belong to the tenant's group role, never to the short-lived user.
            conn.execute(f'SET ROLE "{tenant.owner_role}"')
            conn.execute("CREATE TABLE IF NOT EXISTS lease_probe (x int)")
            owner = conn.execute("SELECT tableowner FROM pg_tables WHERE tablename = 'lease_probe'").fetchone()
            assert owner == (tenant.owner_role,)
            conn.commit()

        client.sys.revoke_lease(lease_id=creds["lease_id"])

        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            self._login(vault_platform, username, password)

    def test_tenant_credential_cannot_open_another_tenants_database(self, vault_platform: VaultPlatform) -> None:
        client = vault_platform.client()
        alpha, beta = vault_platform.tenants
        creds = client.secrets.database.generate_credentials(name=alpha.db_role)
        with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
            psycopg.connect(
                host="127.0.0.1",
                port=vault_platform.pg.primary.port,
                dbname=beta.database,
                user=creds["data"]["username"],
                password=creds["data"]["password"],
            )
        client.sys.revoke_lease(lease_id=creds["lease_id"])

    def test_admin_password_was_rotated_away_from_the_bootstrap_value(self, vault_platform: VaultPlatform) -> None:
        # After rotate-root the connection config no longer reveals or holds the first password;
        # the only proof from outside is that OpenBao still issues working credentials.
        client = vault_platform.client()
        details = client.secrets.database.read_connection(name="letsema-pg")["data"]["connection_details"]
        assert "password" not in details
        creds = client.secrets.database.generate_credentials(name=vault_platform.tenants[1].db_role)
        assert creds["data"]["username"].startswith("v-")


class TestOpenBaoTransitAndKv:
    def test_transit_round_trips_pii_and_hmac_is_stable(self, vault_platform: VaultPlatform) -> None:
        client = vault_platform.client()
        tenant = vault_platform.tenants[0]
        plaintext = base64.b64encode(b"012345678901").decode()
        ciphertext = client.secrets.transit.encrypt_data(name=tenant.transit_key, plaintext=plaintext)["data"][
            "ciphertext"
        ]
        assert ciphertext.startswith("vault:v1:")
        assert "012345678901" not in ciphertext
        decrypted = client.secrets.transit.decrypt_data(name=tenant.transit_key, ciphertext=ciphertext)
        assert base64.b64decode(decrypted["data"]["plaintext"]) == b"012345678901"
        first = client.secrets.transit.generate_hmac(name="nid-hmac", hash_input=plaintext)["data"]["hmac"]
        second = client.secrets.transit.generate_hmac(name="nid-hmac", hash_input=plaintext)["data"]["hmac"]
        assert first == second
        assert first.startswith("vault:v1:")

    def test_kv_holds_each_tenants_generated_secrets(self, vault_platform: VaultPlatform) -> None:
        client = vault_platform.client()
        keys = set()
        for tenant in vault_platform.tenants:
            secret = client.secrets.kv.v2.read_secret_version(
                path=tenant.kv_path("django"), mount_point="secret", raise_on_deleted_version=True
            )["data"]["data"]
            assert len(secret["secret_key"]) >= 50
            keys.add(secret["secret_key"])
        assert len(keys) == len(vault_platform.tenants), "tenants must not share a SECRET_KEY"

    def test_tenant_policy_denies_another_tenants_key(self, vault_platform: VaultPlatform) -> None:
        import hvac.exceptions

        root = vault_platform.client()
        alpha, beta = vault_platform.tenants
        token = root.auth.token.create(policies=[alpha.policy], ttl="5m")["auth"]["client_token"]
        scoped = vault_platform.openbao.client(token=token)
        plaintext = base64.b64encode(b"x").decode()
        assert scoped.secrets.transit.encrypt_data(name=alpha.transit_key, plaintext=plaintext)["data"]["ciphertext"]
        with pytest.raises(hvac.exceptions.Forbidden):
            scoped.secrets.transit.encrypt_data(name=beta.transit_key, plaintext=plaintext)
        with pytest.raises(hvac.exceptions.Forbidden):
            scoped.secrets.kv.v2.read_secret_version(
                path=beta.kv_path("django"), mount_point="secret", raise_on_deleted_version=True
            )


class TestMongoProtocolServer:
    def test_pymongo_inserts_and_finds_a_document(self, mongo_url: str) -> None:
        client: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(mongo_url, serverSelectionTimeoutMS=5000)
        coll = client["letsema_probe"]["documents"]
        coll.drop()
        coll.insert_one({"borrower_key": "k1", "country": "LS", "principal_cents": 1_000_000})
        found = coll.find_one({"borrower_key": "k1"}, {"_id": 0})
        assert found == {"borrower_key": "k1", "country": "LS", "principal_cents": 1_000_000}
        client.close()

    def test_unique_index_violation_raises_duplicate_key_error_from_the_server(self, mongo_url: str) -> None:
        client: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(mongo_url, serverSelectionTimeoutMS=5000)
        coll = client["letsema_probe"]["unique_accounts"]
        coll.drop()
        coll.create_index([("country", 1), ("borrower_key", 1)], unique=True)
        coll.insert_one({"country": "LS", "borrower_key": "k1"})
        with pytest.raises(DuplicateKeyError) as excinfo:
            coll.insert_one({"country": "LS", "borrower_key": "k1"})
        assert excinfo.value.code == 11000
        assert coll.count_documents({}) == 1
        client.close()
