"""What the kmock harness must give kopf, pinned so that the loop tests stay deterministic.

kopf keeps one memory per object (the live body its handlers and timers read, the pending patch, the
memo) under ``metadata.uid``. kmock assigns no uid; objects created without one all share the memory of
the empty key, and a CreditRegistry's event could then swap the body under a running tenant handler
(which failed permanently on the registry's spec: "tenantId is required"). ``Platform.apply`` gives
every object a uid, as a real API server does.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import requests
from kopf._core.reactor import inventory

pytestmark = pytest.mark.operator


def _tenant(uid: str | None) -> dict[str, object]:
    meta: dict[str, object] = {"name": "khotso"} | ({"uid": uid} if uid else {})
    return {"apiVersion": "letsema.io/v1alpha1", "kind": "MicrofinanceTenant", "metadata": meta,
            "spec": {"tenantId": "khotso"}}


def _registry(uid: str | None) -> dict[str, object]:
    meta: dict[str, object] = {"name": "letsema"} | ({"uid": uid} if uid else {})
    return {"apiVersion": "letsema.io/v1alpha1", "kind": "CreditRegistry", "metadata": meta,
            "spec": {"database": "letsema_registry"}}


class TestKopfObjectMemory:
    async def test_objects_without_uid_share_one_memory(self) -> None:
        memories = inventory.ResourceMemories()
        assert await memories.recall(_tenant(None)) is await memories.recall(_registry(None))

    async def test_objects_with_uids_have_a_memory_each(self) -> None:
        memories = inventory.ResourceMemories()
        tenant = await memories.recall(_tenant("0b5f0d1e-1"))
        assert tenant is not await memories.recall(_registry("0b5f0d1e-2"))
        assert tenant is await memories.recall(_tenant("0b5f0d1e-1"))


class TestKmockRequestMatching:
    """conftest's ``_kmock_matches_one_request_at_a_time`` decides ``request in view`` on the one request;
    it must answer exactly as kmock's own scan of every request served (``View.__contains__``)."""

    async def test_every_reaction_sees_the_same_requests_as_kmocks_scan(self, kmock: Any) -> None:
        from kmock._internal import dsl

        kmock.resources.load_bundled()
        base = str(kmock.url).rstrip("/")
        paths = ["/version", "/api", "/apis", "/api/v1", "/apis/apps/v1", "/api/v1/namespaces/default/secrets",
                 "/api/v1/namespaces/default/secrets/missing", "/apis/apps/v1/namespaces/x/deployments", "/nowhere"]

        def call(path: str, method: str = "GET") -> int:
            return requests.request(method, base + path, timeout=10).status_code

        for path in paths:
            await asyncio.to_thread(call, path)
        await asyncio.to_thread(call, "/api/v1/namespaces/default/secrets/missing", "DELETE")
        served = list(kmock)
        assert len(served) == len(paths) + 1
        compared = 0
        for reaction in kmock._payloads:
            view = reaction._source
            assert type(view).__contains__ is not dsl.View.__contains__  # the fast check is in place
            for request in served:
                assert (request in view) == dsl.View.__contains__(view, request), (request, view)
                compared += 1
        assert compared >= 10 * len(served)
        assert any(request in reaction._source for reaction in kmock._payloads for request in served)
