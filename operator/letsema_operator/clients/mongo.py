"""The registry's MongoDB administration behind a small interface: sharding, roles, tenant users.

``PymongoRegistryAdmin`` talks to mongos; ``InMemoryRegistryAdmin`` is the fake the operator tests use
(there is no mongod on the test machines; see docs/operator.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from letsema_operator.spec import RegistrySpec

Privileges = list[dict[str, Any]]
COMMAND_NOT_FOUND = 59  # MongoDB's error code for a command the server does not implement


class RegistryCommandUnsupported(RuntimeError):
    """The registry server does not implement an administration command the operator needs (FerretDB 1.x
    has no user or role management: ``usersInfo``, ``createUser``, ``createRole``, ...)."""

    def __init__(self, command: str, detail: str) -> None:
        super().__init__(f"the registry server does not support {command!r}: {detail}")
        self.command = command


class RegistryAdmin(Protocol):
    def ping(self) -> bool: ...
    def ensure_sharding(self, spec: RegistrySpec) -> None: ...
    def ensure_roles(self, database: str, roles: dict[str, Privileges]) -> None: ...
    def ensure_user(self, *, database: str, user: str, password: str, role: str) -> None: ...
    def drop_user(self, *, database: str, user: str) -> None: ...
    def user_exists(self, *, database: str, user: str) -> bool: ...
    def close(self) -> None: ...


class PymongoRegistryAdmin:
    """Administration commands through mongos (``enableSharding``, ``shardCollection``, zones, users)."""

    def __init__(self, *, cluster_admin_uri: str, user_admin_uri: str) -> None:
        import pymongo  # imported here: only the real client needs it

        # Percona's system users split the duties: clusterAdmin shards, userAdmin manages users and roles.
        self._cluster: Any = pymongo.MongoClient(cluster_admin_uri, serverSelectionTimeoutMS=5000)
        self._client: Any = pymongo.MongoClient(user_admin_uri, serverSelectionTimeoutMS=5000)

    def ping(self) -> bool:
        try:
            self._cluster.admin.command("ping")
        except Exception:  # any driver error means "not reachable" here
            return False
        return True

    def ensure_sharding(self, spec: RegistrySpec) -> None:
        from bson.max_key import MaxKey
        from bson.min_key import MinKey

        admin = self._cluster.admin
        admin.command("enableSharding", spec.database)
        for collection in spec.collections:
            key = {f.field: ("hashed" if f.kind == "hashed" else 1) for f in collection.key}
            admin.command("shardCollection", f"{spec.database}.{collection.name}", key=key)
        for zone in spec.zones:
            for shard in zone.shards:
                admin.command("addShardToZone", shard, zone=zone.name)
            for collection in spec.collections:
                first = collection.key[0].field
                if first != "country":
                    continue
                # One country's whole range: {country: C, rest: MinKey} .. {country: C, rest: MaxKey}.
                low = {"country": zone.country, **{f.field: MinKey() for f in collection.key[1:]}}
                high = {"country": zone.country, **{f.field: MaxKey() for f in collection.key[1:]}}
                admin.command("updateZoneKeyRange", f"{spec.database}.{collection.name}",
                              min=low, max=high, zone=zone.name)

    def _run(self, database: str, command: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """Run a user/role administration command; an unimplemented one is a ``RegistryCommandUnsupported``."""
        from pymongo.errors import OperationFailure

        try:
            reply: dict[str, Any] = self._client[database].command(command, *args, **kwargs)
        except OperationFailure as error:
            if error.code == COMMAND_NOT_FOUND:
                raise RegistryCommandUnsupported(command, str((error.details or {}).get("errmsg", error))) from error
            raise
        return reply

    def ensure_roles(self, database: str, roles: dict[str, Privileges]) -> None:
        """Create or update each role with exactly these privileges (see ``build_registry_roles``)."""
        existing = {role["role"] for role in self._run(database, "rolesInfo", 1)["roles"]}
        for role, privileges in roles.items():
            command = "updateRole" if role in existing else "createRole"
            self._run(database, command, role, privileges=privileges, roles=[])

    def ensure_user(self, *, database: str, user: str, password: str, role: str) -> None:
        command = "updateUser" if self.user_exists(database=database, user=user) else "createUser"
        self._run(database, command, user, pwd=password, roles=[{"role": role, "db": database}])

    def drop_user(self, *, database: str, user: str) -> None:
        if self.user_exists(database=database, user=user):
            self._run(database, "dropUser", user)

    def user_exists(self, *, database: str, user: str) -> bool:
        return bool(self._run(database, "usersInfo", user)["users"])

    def close(self) -> None:
        self._cluster.close()
        self._client.close()


@dataclass
class InMemoryRegistryAdmin:
    """A fake with the same observable behaviour, for tests and dry runs."""

    reachable: bool = True
    sharded: dict[str, tuple[str, ...]] = field(default_factory=dict)
    zones: dict[str, str] = field(default_factory=dict)
    roles: dict[str, dict[str, Privileges]] = field(default_factory=dict)  # db -> role -> privileges
    users: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)  # (db, user) -> (password, role)

    def ping(self) -> bool:
        return self.reachable

    def ensure_sharding(self, spec: RegistrySpec) -> None:
        for collection in spec.collections:
            self.sharded[f"{spec.database}.{collection.name}"] = tuple(f.field for f in collection.key)
        for zone in spec.zones:
            self.zones[zone.name] = zone.country

    def ensure_roles(self, database: str, roles: dict[str, Privileges]) -> None:
        self.roles.setdefault(database, {}).update(roles)

    def ensure_user(self, *, database: str, user: str, password: str, role: str) -> None:
        if role not in self.roles.get(database, set()):
            raise ValueError(f"role {role} does not exist in {database}")
        self.users[(database, user)] = (password, role)

    def drop_user(self, *, database: str, user: str) -> None:
        self.users.pop((database, user), None)

    def user_exists(self, *, database: str, user: str) -> bool:
        return (database, user) in self.users

    def close(self) -> None:
        return None
