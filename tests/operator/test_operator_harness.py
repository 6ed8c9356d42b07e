"""What the kmock harness must give kopf, pinned so that the loop tests stay deterministic.

kopf keeps one memory per object (the live body its handlers and timers read, the pending patch, the
memo) under ``metadata.uid``. kmock assigns no uid; objects created without one all share the memory of
the empty key, and a CreditRegistry's event could then swap the body under a running tenant handler
(which failed permanently on the registry's spec: "tenantId is required"). ``Platform.apply`` gives
every object a uid, as a real API server does.
"""

from __future__ import annotations

import pytest
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
