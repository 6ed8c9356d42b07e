"""Dynamic registry users: the tenant process logs in to the registry with short-lived users that Vault
issues, renews and replaces (``mode: dynamic`` in the KV ``mongodb`` record, see
``letsema_api.credit.registry_client``).

On Kubernetes with HashiCorp Vault those users come from Vault's MongoDB plugin. Neither that plugin
(OpenBao has none) nor a MongoDB server with users and roles can run here, so these tests use the
closest real substitute: FerretDB on its PostgreSQL backend, which logs every client in to PostgreSQL
with the client's own user name and password (SASL PLAIN). A MongoDB user there *is* a PostgreSQL role,
and OpenBao's PostgreSQL plugin issues those as leases. Everything on the API's side is real: the KV
record, the lease from a ``creds`` path, the login to the MongoDB-protocol server, renewal, replacement
and the swap of clients. What is not exercised is Vault's MongoDB plugin itself (its ``createUser`` /
``dropUser``); the operator's configuration of that plugin is tested in tests/operator/."""

from __future__ import annotations

import dataclasses
import secrets
import time
from collections.abc import Iterator
from typing import Any

import pymongo
import pytest

from letsema_dev.services.ferretdb import FerretDBServer
from letsema_dev.testing import free_port, service_dir

pytestmark = pytest.mark.integration

OWNER = "letsema_registry_owner"
ISSUER = "letsema_registry_issuer"
ANONYMOUS = "letsema_registry_anonymous"  # FerretDB's own login (health pings): no privilege on the registry
DATABASE = "ferretdb_dynamic"
CONNECTION = "letsema-registry-dynamic"
ROLE = "letsema-test-registry"
REGISTRY_DB = "letsema_registry_dynamic"


@dataclasses.dataclass
class DynamicRegistry:
    host: str
    credentials_path: str
    owner_password: str

    def owner_client(self) -> pymongo.MongoClient[dict[str, Any]]:
        return pymongo.MongoClient(
            f"mongodb://{OWNER}:{self.owner_password}@{self.host}/{REGISTRY_DB}"
            "?authMechanism=PLAIN&authSource=$external",
            serverSelectionTimeoutMS=5000,
        )


def _pg_role_exists(pg: Any, name: str) -> bool:
    return bool(pg.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)))


@pytest.fixture(scope="module")
def dynamic_registry(vault_platform: Any) -> Iterator[DynamicRegistry]:
    """FerretDB on PostgreSQL whose collections belong to ``OWNER``; OpenBao issues members of ``OWNER``."""
    import psycopg.sql as sql

    pg = vault_platform.pg.primary
    owner_password, issuer_password = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    anonymous_password = secrets.token_urlsafe(24)
    for role, password, extra in ((OWNER, owner_password, ""), (ISSUER, issuer_password, " CREATEROLE"),
                                  (ANONYMOUS, anonymous_password, "")):
        verb = "ALTER" if _pg_role_exists(pg, role) else "CREATE"
        pg.execute(sql.SQL(f"{verb} ROLE {{}} WITH LOGIN{extra} PASSWORD {{}}").format(
            sql.Identifier(role), sql.Literal(password)))
    pg.execute(sql.SQL("GRANT {} TO {} WITH ADMIN OPTION").format(sql.Identifier(OWNER), sql.Identifier(ISSUER)))
    if not pg.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)):
        pg.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(DATABASE), sql.Identifier(OWNER)))
    client = vault_platform.client()
    client.secrets.database.configure(
        name=CONNECTION, plugin_name="postgresql-database-plugin",
        connection_url=f"postgresql://{{{{username}}}}:{{{{password}}}}@127.0.0.1:{pg.port}/postgres?sslmode=disable",
        username=ISSUER, password=issuer_password, allowed_roles=[ROLE], verify_connection=True)
    client.secrets.database.create_role(
        name=ROLE, db_name=CONNECTION,
        creation_statements=[f"CREATE ROLE \"{{{{name}}}}\" WITH LOGIN PASSWORD '{{{{password}}}}' "
                             f"VALID UNTIL '{{{{expiration}}}}' IN ROLE {OWNER};"],
        revocation_statements=["SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{{name}}';",
                               'DROP ROLE IF EXISTS "{{name}}";'],
        default_ttl="120s", max_ttl="600s")
    tenant = vault_platform.tenants[0]
    policy = client.sys.read_policy(name=tenant.policy)["data"]["rules"]
    client.sys.create_or_update_policy(
        name=tenant.policy, policy=policy + f'\npath "database/creds/{ROLE}" {{ capabilities = ["read"] }}\n')
    with service_dir("ferretdb-dynamic") as base:
        server = FerretDBServer(base_dir=base, port=free_port(),
                                postgresql_url=f"postgres://{ANONYMOUS}:{anonymous_password}@127.0.0.1:{pg.port}/{DATABASE}")
        registry = DynamicRegistry(host=f"127.0.0.1:{server.port}", credentials_path=f"database/creds/{ROLE}",
                                   owner_password=owner_password)
        try:
            server.start()  # inside the try: a start that times out still stops the process it spawned
            from letsema_api.registry.mongo import MongoCreditRegistry

            with registry.owner_client() as owner:  # collections and indexes belong to OWNER
                MongoCreditRegistry.from_client(owner, database=REGISTRY_DB).ensure_indexes()
            yield registry
        finally:
            server.stop()
            client.sys.revoke_prefix(f"database/creds/{ROLE}")
            client.sys.create_or_update_policy(name=tenant.policy, policy=policy)
            client.secrets.database.delete_role(name=ROLE)
            client.secrets.database.delete_connection(name=CONNECTION)


@pytest.fixture
def dynamic_record(django_api: Any, vault_platform: Any, dynamic_registry: DynamicRegistry) -> Iterator[dict[str, str]]:
    """The KV record the operator writes for ``secrets.provider: vault``, with no LETSEMA_MONGO_URL."""
    from django.conf import settings
    from django.test import override_settings
    from letsema_api.credit import registry_client

    config = dataclasses.replace(settings.LETSEMA, mongo_url=None)
    record = {"mode": "dynamic", "credentialsPath": dynamic_registry.credentials_path,
              "host": dynamic_registry.host, "database": REGISTRY_DB, "authSource": "$external",
              "options": "authMechanism=PLAIN", "role": "letsema_registry_rw"}
    kv = vault_platform.client().secrets.kv.v2
    registry_client._forget_registry()
    kv.create_or_update_secret(path=f"{config.vault_kv_prefix}/mongodb", secret=record,
                               mount_point=config.vault_kv_mount)
    with override_settings(LETSEMA=config):
        yield record
    registry_client._forget_registry()
    kv.delete_metadata_and_all_versions(path=f"{config.vault_kv_prefix}/mongodb", mount_point=config.vault_kv_mount)


class TestDynamicRegistryUsers:
    def test_the_process_logs_in_with_a_user_vault_issued_and_reads_and_writes(
        self, dynamic_record: dict[str, str], vault_platform: Any
    ) -> None:
        from letsema_api.credit import registry_client

        registry = registry_client.get_registry()
        collection = registry.database["inquiries"]
        marker = secrets.token_hex(8)
        collection.insert_one({"_id": marker, "by": "dynamic-user-test"})
        assert collection.find_one({"_id": marker}) == {"_id": marker, "by": "dynamic-user-test"}
        dynamic = registry_client._dynamic
        assert dynamic is not None
        assert dynamic.username is not None
        assert dynamic.username.startswith("v-")  # a name Vault made up, not the operator's static user
        pg = vault_platform.pg.primary
        valid_until = pg.execute("SELECT rolvaliduntil FROM pg_roles WHERE rolname = %s", (dynamic.username,))
        assert valid_until
        assert valid_until[0][0] is not None
        assert registry_client.get_registry() is registry  # one client while the credential holds

    def test_a_lease_near_its_end_is_replaced_and_the_old_client_retired(self, dynamic_record: dict[str, str]) -> None:
        from letsema_api.credit import registry_client

        first = registry_client.get_registry()
        dynamic = registry_client._dynamic
        assert dynamic is not None
        first_user = dynamic.username
        # Two thirds of the lease have passed: the 120 s lease renews to under the 300 s a credential must
        # have left, so the manager asks Vault for a new user.
        real_clock = dynamic.manager.clock
        dynamic.manager.clock = lambda: real_clock() + 100
        second = registry_client.get_registry()
        assert second is not first
        assert dynamic.username != first_user
        assert second.database["inquiries"].count_documents({"by": "nobody"}) == 0  # the new user works
        assert [client for _, client in dynamic.retired] == [first.database.client]
        assert first.database.command("ping")["ok"] == 1  # requests holding the old client still finish

    def test_a_refused_login_makes_the_next_call_issue_a_new_user(self, dynamic_record: dict[str, str]) -> None:
        from letsema_api.credit import registry_client
        from pymongo.errors import OperationFailure

        first = registry_client.get_registry()
        dynamic = registry_client._dynamic
        assert dynamic is not None
        first_user = dynamic.username
        with pytest.raises(registry_client.RegistryUnavailable), registry_client.registry_calls():
            raise OperationFailure("Authentication failed.", code=18)
        second = registry_client.get_registry()
        assert second is not first
        assert dynamic.username != first_user
        assert second.database.command("ping")["ok"] == 1

    def test_a_revoked_user_cannot_log_in_any_more(
        self, dynamic_record: dict[str, str], dynamic_registry: DynamicRegistry, vault_platform: Any
    ) -> None:
        """What the operator's deletion relies on: revoking the role's leases ends the users."""
        from letsema_api.credit import registry_client

        registry = registry_client.get_registry()
        dynamic = registry_client._dynamic
        assert dynamic is not None
        assert dynamic.username is not None
        credential = dynamic.manager.credential
        assert credential is not None
        vault_platform.client().sys.revoke_lease(lease_id=credential.lease_id)
        assert not _pg_role_exists(vault_platform.pg.primary, dynamic.username)
        fresh = pymongo.MongoClient(dynamic.url(credential), serverSelectionTimeoutMS=3000)
        try:
            with pytest.raises(pymongo.errors.OperationFailure) as excinfo:
                fresh[REGISTRY_DB]["inquiries"].find_one({})
            # MongoDB answers 18 (AuthenticationFailed) at login. FerretDB accepts a PLAIN login lazily
            # and fails the first command with PostgreSQL's "password authentication failed" instead.
            error = excinfo.value
            assert error.code == 18 or (error.code == 1 and "SQLSTATE 28P01" in str(error)), error
        finally:
            fresh.close()
        del registry

    def test_a_record_without_its_creds_path_is_a_clear_503(self, dynamic_record: dict[str, str],
                                                            vault_platform: Any) -> None:
        from django.conf import settings
        from letsema_api.credit import registry_client

        config = settings.LETSEMA
        vault_platform.client().secrets.kv.v2.create_or_update_secret(
            path=f"{config.vault_kv_prefix}/mongodb", secret={"mode": "dynamic", "host": "127.0.0.1:1"},
            mount_point=config.vault_kv_mount)
        registry_client._forget_registry()
        with pytest.raises(registry_client.RegistryUnavailable) as excinfo:
            registry_client.get_registry()
        assert excinfo.value.http_status == 503
        assert "credentialsPath" in str(excinfo.value)


def test_retired_clients_are_closed_after_their_grace(dynamic_record: dict[str, str]) -> None:
    from letsema_api.credit import registry_client

    registry_client.get_registry()
    dynamic = registry_client._dynamic
    assert dynamic is not None
    real_clock = dynamic.manager.clock
    dynamic.manager.clock = lambda: real_clock() + 100
    registry_client.get_registry()
    assert len(dynamic.retired) == 1
    retired_client = dynamic.retired[0][1]
    dynamic.manager.clock = real_clock  # the new credential holds; only the retirement clock moves on
    dynamic.clock = lambda: time.monotonic() + registry_client._RETIRE_AFTER_SECONDS + 1
    registry_client.get_registry()
    assert dynamic.retired == []
    with pytest.raises(pymongo.errors.InvalidOperation):  # closed: pymongo refuses to use it again
        retired_client.admin.command("ping")


class TestRelayWithDynamicUsers:
    """The relay takes the registry from ``get_registry()`` on every pass, so it follows the users Vault
    issues (a relay that kept its first client published nothing once that user's lease ended)."""

    @staticmethod
    def _pending_event() -> str:
        from letsema_api.outbox.repositories import DjangoOutbox

        from tests.contracts.credit_registry import account_event

        loan_ref = f"L-{secrets.token_hex(4)}"
        DjangoOutbox().append(account_event(loan_ref=loan_ref, sequence=1))
        return loan_ref

    @staticmethod
    def _status(loan_ref: str) -> str:
        from letsema_api.outbox.models import OutboxEvent

        return str(OutboxEvent.objects.get(loan_ref=loan_ref).status)

    def test_the_relay_publishes_with_a_vault_issued_user(self, dynamic_record: dict[str, str],
                                                           dynamic_registry: DynamicRegistry) -> None:
        from django.core.management import call_command
        from letsema_api.credit import registry_client

        loan_ref = self._pending_event()
        call_command("relay_credit_events", once=True, no_progress=True)
        assert self._status(loan_ref) == "published"
        assert registry_client._dynamic is not None
        assert registry_client._dynamic.username is not None
        with dynamic_registry.owner_client() as owner:  # written by the issued user, read by the owner
            assert owner[REGISTRY_DB]["credit_accounts"].count_documents({"loan_ref": loan_ref}) >= 1

    def test_a_login_the_registry_refuses_makes_the_next_pass_take_a_new_user(
        self, dynamic_record: dict[str, str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The refusal is injected (code 18, as MongoDB answers an ended lease): FerretDB answers a revoked
        PLAIN login differently (see test_a_revoked_user_cannot_log_in_any_more)."""
        from django.core.management import CommandError, call_command
        from letsema_api.credit import registry_client
        from letsema_api.registry.mongo import MongoCreditRegistry
        from pymongo.errors import OperationFailure

        registry_client.get_registry()
        dynamic = registry_client._dynamic
        assert dynamic is not None
        first_user = dynamic.username
        original = MongoCreditRegistry.record_account_event
        refusals = [OperationFailure("Authentication failed.", code=18)]

        original_batch = MongoCreditRegistry.record_account_events

        def refuse_once(self: Any, event: Any) -> None:
            if refusals:
                raise refusals.pop()
            original(self, event)

        def refuse_batch_once(self: Any, events: Any) -> Any:
            if refusals:
                raise refusals.pop()
            return original_batch(self, events)

        # The relay sends its batch with record_account_events; one event at a time goes through the other.
        monkeypatch.setattr(MongoCreditRegistry, "record_account_event", refuse_once)
        monkeypatch.setattr(MongoCreditRegistry, "record_account_events", refuse_batch_once)
        loan_ref = self._pending_event()
        with pytest.raises(CommandError, match="Authentication failed"):
            call_command("relay_credit_events", once=True, no_progress=True)
        assert self._status(loan_ref) == "pending"
        call_command("relay_credit_events", once=True, no_progress=True)
        assert self._status(loan_ref) == "published"
        assert dynamic.username != first_user
