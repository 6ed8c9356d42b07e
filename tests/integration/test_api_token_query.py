"""The bearer-token query (``accounts.oauth``): its SQL is built once, its result is what the ORM's
``select_related`` query gives, and it is still read from the database on every request."""

from __future__ import annotations

import secrets
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from tests.integration.conftest import DjangoApi
from tests.integration.test_api_lending_support import client_credentials_token

pytestmark = [pytest.mark.integration]


def _orm_token(token: str) -> Any:
    import hashlib

    from oauth2_provider.models import AccessToken

    checksum = hashlib.sha256(token.encode("utf-8")).hexdigest()
    return AccessToken.objects.select_related("application__user", "user").get(token_checksum=checksum)


def _values(instance: Any) -> dict[str, Any] | None:
    if instance is None:
        return None
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


def _load(token: str) -> tuple[Any, list[str]]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from letsema_api.accounts.oauth import LetsemaOAuth2Validator

    with CaptureQueriesContext(connection) as queries:
        loaded = LetsemaOAuth2Validator()._load_access_token(token)
    return loaded, [q["sql"] for q in queries.captured_queries]


def _assert_same(loaded: Any, expected: Any) -> None:
    assert type(loaded) is type(expected)
    assert _values(loaded) == _values(expected)
    assert loaded._state.adding is False
    assert loaded._state.db == expected._state.db
    # The related objects come with the row, as select_related gives them: no further query reads them.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert _values(loaded.user) == _values(expected.user)
        assert _values(loaded.application) == _values(expected.application)
        if expected.application is not None:
            assert _values(loaded.application.user) == _values(expected.application.user)
    assert queries.captured_queries == []


@pytest.fixture
def user_token(django_api: DjangoApi, make_user: Any) -> str:
    from django.utils import timezone
    from oauth2_provider.models import AccessToken

    user = make_user("branch_manager", approval_limit=Decimal("5000.00"))
    return str(
        AccessToken.objects.create(
            user=user, token=secrets.token_urlsafe(30), expires=timezone.now() + timedelta(hours=1), scope="read write"
        ).token
    )


@pytest.fixture
def client_token(django_api: DjangoApi, make_user: Any) -> str:
    return client_credentials_token(make_user("integration"))


class TestTheBearerTokenQuery:
    def test_a_users_token_is_the_orms_row_with_its_user_in_one_statement(self, user_token: str) -> None:
        loaded, sql = _load(user_token)
        _assert_same(loaded, _orm_token(user_token))
        assert loaded.user is not None
        assert loaded.application is None
        assert len(sql) == 1
        assert "oauth2_provider_accesstoken" in sql[0]

    def test_a_client_credentials_token_carries_its_application_and_owner(self, client_token: str) -> None:
        loaded, sql = _load(client_token)
        _assert_same(loaded, _orm_token(client_token))
        assert loaded.user is None
        assert loaded.application.user.role == "integration"
        assert len(sql) == 1

    def test_an_unknown_token_is_none_after_one_statement(self, django_api: DjangoApi) -> None:
        loaded, sql = _load(secrets.token_urlsafe(30))
        assert loaded is None
        assert len(sql) == 1

    def test_a_revoked_or_expired_token_is_refused_on_the_next_read(self, user_token: str) -> None:
        from django.utils import timezone
        from letsema_api.accounts.oauth import LetsemaOAuth2Validator
        from oauth2_provider.models import AccessToken
        from oauthlib.common import Request

        validator = LetsemaOAuth2Validator()
        assert validator.validate_bearer_token(user_token, ["read"], Request("http://testserver/"))
        assert not validator.validate_bearer_token(user_token, ["approve"], Request("http://testserver/"))
        AccessToken.objects.filter(token=user_token).update(expires=timezone.now() - timedelta(seconds=1))
        assert not validator.validate_bearer_token(user_token, ["read"], Request("http://testserver/"))
        AccessToken.objects.filter(token=user_token).delete()
        assert not validator.validate_bearer_token(user_token, ["read"], Request("http://testserver/"))
