"""``PymongoRegistryAdmin`` against the MongoDB-wire-protocol server of the ``mongo_url`` fixture.

Locally that is FerretDB 1.24 (SQLite), which implements none of MongoDB's user and role management:
``usersInfo``, ``createUser``, ``updateUser``, ``dropUser``, ``rolesInfo`` and ``createRole`` all answer
``CommandNotFound`` (code 59). So there the test asserts that the client says exactly that, naming the
command, rather than failing obscurely; the operator's loop tests keep using ``InMemoryRegistryAdmin``.
Where ``LETSEMA_MONGO_URL`` names a real MongoDB (CI), the same test runs the whole user life cycle and
logs in with the credentials, as a tenant would with the URL the operator keeps in Vault KV.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pymongo
import pytest
from letsema_operator.builders.registry import build_registry_roles, mongo_client_url
from letsema_operator.clients.mongo import PymongoRegistryAdmin, RegistryCommandUnsupported
from letsema_operator.spec import parse_registry_spec
from pymongo.errors import OperationFailure
from pymongo.uri_parser import parse_uri

pytestmark = pytest.mark.operator

USER = "letsema-optest"


@pytest.fixture
def admin(mongo_url: str) -> Iterator[PymongoRegistryAdmin]:
    client = PymongoRegistryAdmin(cluster_admin_uri=mongo_url, user_admin_uri=mongo_url)
    yield client
    client.close()


@pytest.fixture
def server(mongo_url: str) -> Iterator[pymongo.MongoClient[dict[str, object]]]:
    client: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(mongo_url, serverSelectionTimeoutMS=5000)
    yield client
    client.close()


@pytest.fixture
def database(server: pymongo.MongoClient[dict[str, object]], mongo_url: str) -> Iterator[str]:
    """A database of its own, emptied afterwards (users and roles too, where the server has them)."""
    name = f"letsema_optest_{uuid.uuid4().hex[:8]}"
    yield name
    for command in ("dropAllUsersFromDatabase", "dropAllRolesFromDatabase"):
        try:
            server[name].command(command)
        except OperationFailure as error:
            if error.code != 59:  # CommandNotFound: FerretDB has no users or roles to drop
                raise
    server.drop_database(name)


def is_ferretdb(server: pymongo.MongoClient[dict[str, object]]) -> bool:
    return "ferretdbVersion" in server.admin.command("buildInfo")


def can_log_in(mongo_url: str, *, user: str, password: str, database: str) -> bool:
    host, port = parse_uri(mongo_url)["nodelist"][0]
    url = mongo_client_url(user=user, password=password, host=f"{host}:{port}", database=database)
    client: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(url, serverSelectionTimeoutMS=5000)
    try:
        client[database].command("ping")
    except OperationFailure as error:
        if error.code == 18:  # AuthenticationFailed
            return False
        raise
    finally:
        client.close()
    return True


class TestPymongoRegistryAdmin:
    def test_pings_the_server(self, admin: PymongoRegistryAdmin) -> None:
        assert admin.ping()

    def test_pings_nothing_where_no_server_listens(self) -> None:
        absent = PymongoRegistryAdmin(cluster_admin_uri="mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=200",
                                      user_admin_uri="mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=200")
        try:
            assert not absent.ping()
        finally:
            absent.close()

    def test_manages_roles_and_users_or_names_the_command_the_server_lacks(
            self, admin: PymongoRegistryAdmin, server: pymongo.MongoClient[dict[str, object]], database: str,
            mongo_url: str) -> None:
        roles = build_registry_roles(spec=parse_registry_spec({"database": database}))
        if is_ferretdb(server):
            with pytest.raises(RegistryCommandUnsupported, match="no such command: 'usersInfo'") as lookup:
                admin.ensure_user(database=database, user=USER, password="first-Password-1",
                                  role="letsema_registry_ro")
            assert lookup.value.command == "usersInfo"
            with pytest.raises(RegistryCommandUnsupported) as roles_lookup:
                admin.ensure_roles(database, roles)
            assert roles_lookup.value.command == "rolesInfo"
            with pytest.raises(RegistryCommandUnsupported) as drop:
                admin.drop_user(database=database, user=USER)
            assert drop.value.command == "usersInfo"
            return

        admin.ensure_roles(database, roles)
        admin.ensure_roles(database, roles)  # the second time updates them in place
        assert not admin.user_exists(database=database, user=USER)
        admin.ensure_user(database=database, user=USER, password="first-Password-1", role="letsema_registry_ro")
        assert admin.user_exists(database=database, user=USER)
        assert can_log_in(mongo_url, user=USER, password="first-Password-1", database=database)

        # A rotation (and a change of access) updates the same user: the old password stops working.
        admin.ensure_user(database=database, user=USER, password="second-Password-2", role="letsema_registry_rw")
        assert can_log_in(mongo_url, user=USER, password="second-Password-2", database=database)
        assert not can_log_in(mongo_url, user=USER, password="first-Password-1", database=database)
        [info] = server[database].command("usersInfo", USER)["users"]
        assert info["roles"] == [{"role": "letsema_registry_rw", "db": database}]

        admin.drop_user(database=database, user=USER)
        assert not admin.user_exists(database=database, user=USER)
        admin.drop_user(database=database, user=USER)  # already gone: nothing to do
