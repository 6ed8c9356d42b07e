"""The observation timers, registered by the startup handler with the interval of the operator's config.

kopf takes a timer's interval when the timer is registered. Registering these at import would freeze
whatever ``LETSEMA_OBSERVE_INTERVAL_SECONDS`` held when ``letsema_operator`` was first imported (by a
test, a tool, anything); registering them at startup, before kopf starts watching (its watchers wait for
the startup handlers), uses the configuration the operator actually runs with.
"""

from __future__ import annotations

import weakref

import kopf

from letsema_operator.handlers.registry import observe_registry
from letsema_operator.handlers.tenant import observe_tenant
from letsema_operator.spec import GROUP, REGISTRY_PLURAL, TENANT_PLURAL, VERSION

OBSERVE_TENANT_ID = "observe_tenant"
OBSERVE_REGISTRY_ID = "observe_registry"

# Registries the timers were added to, with their interval: an operator restarted in the same process
# (as the tests do) must not add a second pair of timers.
_registered: weakref.WeakKeyDictionary[kopf.OperatorRegistry, float] = weakref.WeakKeyDictionary()


def register_observation_timers(registry: kopf.OperatorRegistry, *, interval: float) -> None:
    """Add the tenant and registry observation timers to ``registry``, once per registry.

    Raises ``RuntimeError`` if they are already there with another interval: kopf cannot change a
    registered timer, so a new interval needs a new process."""
    if interval <= 0:
        raise ValueError(f"the observation interval must be positive, not {interval}")
    previous = _registered.get(registry)
    if previous is not None:
        if previous != interval:
            raise RuntimeError(f"observation timers already run every {previous}s in this process; "
                               f"restart the operator to use {interval}s")
        return
    kopf.timer(GROUP, VERSION, TENANT_PLURAL, id=OBSERVE_TENANT_ID, interval=interval, initial_delay=1.0,
               registry=registry)(observe_tenant)
    kopf.timer(GROUP, VERSION, REGISTRY_PLURAL, id=OBSERVE_REGISTRY_ID, interval=interval, initial_delay=5.0,
               registry=registry)(observe_registry)
    _registered[registry] = interval
