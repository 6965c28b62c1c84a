"""The admin's "Revoke selected tokens" action stops a cached token at once, like every other revocation."""

import pytest
from rest_framework.test import APIClient

from accounts.models import ApiToken
from accounts.services import token_issue

pytestmark = pytest.mark.django_db


def test_the_admin_action_revokes_and_drops_cached_tokens(admin_client, alice):
    token, raw = token_issue(user=alice, name="poll")
    bearer = APIClient(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert bearer.get("/api/v1/auth/me").status_code == 200  # now in the token cache
    response = admin_client.post(
        "/admin/accounts/apitoken/", {"action": "revoke_selected", "_selected_action": [token.pk]}, follow=True
    )
    assert response.status_code == 200 and b"Revoked 1 token(s)." in response.content
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
    assert bearer.get("/api/v1/auth/me").status_code == 401
