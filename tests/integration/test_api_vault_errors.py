"""A request that needs Vault while Vault is down gets a clear 503, not a 500."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.integration


class TestVaultUnavailable:
    def test_the_error_handler_answers_503_with_a_retry_hint(self, django_api: Any) -> None:
        from letsema_api.common.errors import exception_handler
        from letsema_api.vault import VaultUnavailable

        response = exception_handler(VaultUnavailable("encrypt PII: connection refused", addr="http://127.0.0.1:1"), {})
        assert response is not None
        assert response.status_code == 503
        assert response.data["code"] == "vault_unavailable"
        assert response["Retry-After"] == "5"

    def test_registering_a_borrower_while_vault_is_down_writes_nothing(
        self, django_api: Any, bearer: Any, make_user: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Vault really unreachable: the process's Vault client is pointed at a closed port."""
        from letsema_api.borrowers.models import Borrower
        from letsema_api.vault import get_vault
        from rest_framework.test import APIClient

        from letsema_dev.procs import free_port

        officer = make_user("loan_officer")
        header = bearer(officer)
        client = get_vault()._get_client()
        monkeypatch.setattr(client.adapter, "base_uri", f"http://127.0.0.1:{free_port()}")
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=header)
        before = Borrower.objects.count()
        response = api.post(
            "/api/v1/borrowers/",
            {
                "first_name": "Lerato",
                "last_name": "Molapo",
                "date_of_birth": "1991-04-04",
                "district": "berea",
                "phone": "58111222",
                "monthly_income": "5000.00",
                "identifiers": [{"type": "lesotho_national_id", "value": "111122223333"}],
            },
            format="json",
        )
        assert response.status_code == 503, response.content
        assert response.json()["code"] == "vault_unavailable"
        assert Borrower.objects.count() == before
