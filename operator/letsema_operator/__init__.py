"""The Letsema operator: MicrofinanceTenant and CreditRegistry custom resources, reconciled with kopf.

Importing the package registers the handlers, so ``kopf run -m letsema_operator`` works.
"""

from letsema_operator import handlers

__all__ = ["handlers"]
