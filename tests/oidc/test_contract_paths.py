"""A provider token on one authenticated path of each contract, public paths untouched, 401s in each format."""

import pytest

from accounts.services import project_create

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

INVALID = "Invalid, expired or revoked token"
# One authenticated GET per contract, with the body its 401 must have.
AUTHENTICATED = [
    ("004", "/api/v1/project/alpha/jobs", {"success": False, "message": INVALID}),
    ("001", "/api/v1/task?id=1", {"success": False, "message": INVALID}),
    ("003", "/api/tasks/", {"errors": {"status": 401, "title": "Authentication required", "detail": INVALID}}),
    ("000", "/api/v1/uploads/services", {"error": INVALID}),
]


@pytest.fixture
def alpha(transactional_db):
    return project_create(project_id="alpha", name="Alpha")


def test_it_accepts_a_provider_token_on_each_contracts_authenticated_paths(d2d, provider, alpha):
    token = provider.access_token("stella")  # editor of alpha through the alpha-editors group
    for contract, path, _ in AUTHENTICATED:
        anonymous = d2d.get(path)
        assert anonymous.status_code == 401, (contract, anonymous.text)
        signed = d2d.get(path, token)
        assert signed.status_code not in (401, 403), (contract, path, signed.status_code, signed.text)


def test_it_answers_a_foreign_token_with_a_401_in_each_contracts_format(d2d, foreign_provider):
    token = foreign_provider.access_token("stella")
    for contract, path, body in AUTHENTICATED:
        answer = d2d.get(path, token)
        assert (answer.status_code, answer.json()) == (401, body), contract


def test_it_leaves_001s_status_and_002s_nonce_public(d2d, provider):
    token = provider.access_token("nora")
    for presented in (None, token, "a-token-no-provider-issued"):
        assert d2d.get("/api/v1/status", presented).status_code == 200
        nonce = d2d.get("/api/v1/services/nonce?userAddress=0x" + "ab" * 20, presented)
        assert nonce.status_code == 200, nonce.text
