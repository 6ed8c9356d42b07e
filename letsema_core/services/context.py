"""The tenant a use case runs for."""

from __future__ import annotations

from dataclasses import dataclass, field

from letsema_core.credit.report import StackingRules


@dataclass(frozen=True, slots=True)
class Tenant:
    """One MFI: its id as the registry knows it (``lender_mfi``), its country and its stacking rules."""

    mfi_id: str
    country: str = "LS"
    stacking_rules: StackingRules = field(default_factory=StackingRules)
