"""Kubernetes-style conditions: set one, keeping lastTransitionTime unless the status changed."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def set_condition(conditions: Iterable[Mapping[str, Any]], *, type_: str, ok: bool | None, reason: str,
                  message: str, generation: int | None, now: str) -> list[dict[str, Any]]:
    status = "Unknown" if ok is None else ("True" if ok else "False")
    result: list[dict[str, Any]] = []
    found = False
    for condition in conditions:
        if condition.get("type") != type_:
            result.append(dict(condition))
            continue
        found = True
        transition = condition.get("lastTransitionTime") if condition.get("status") == status else now
        result.append(_condition(type_, status, reason, message, generation, transition or now))
    if not found:
        result.append(_condition(type_, status, reason, message, generation, now))
    return result


def _condition(type_: str, status: str, reason: str, message: str, generation: int | None,
               transition: str) -> dict[str, Any]:
    condition: dict[str, Any] = {"type": type_, "status": status, "reason": reason, "message": message,
                                 "lastTransitionTime": transition}
    if generation is not None:
        condition["observedGeneration"] = generation
    return condition


def condition_status(conditions: Iterable[Mapping[str, Any]] | None, type_: str) -> str | None:
    for condition in conditions or ():
        if condition.get("type") == type_:
            status: str | None = condition.get("status")
            return status
    return None
