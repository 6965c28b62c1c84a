"""A provider token on one authenticated path of each contract, public paths untouched, 401s in each format."""

import json

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


def json_text(body) -> str:
    return json.dumps(body)


@pytest.fixture
def alpha(transactional_db):
    return project_create(project_id="alpha", name="Alpha")


def test_it_accepts_a_provider_token_on_each_contracts_authenticated_paths(d2d, provider, alpha):
    token = provider.access_token("stella")  # editor of alpha through the alpha-editors group
    for contract, path, _ in AUTHENTICATED:
        anonymous = d2d.get(path)
        assert anonymous.status_code == 401, (contract, anonymous.text)
    created = d2d.post("/api/v1/task", token, json={"service": "tabular"})
    assert created.status_code == 200 and created.json()["success"] is True, created.text
    task_id = created.json()["data"]["task_id"]
    # The exact answer a member gets: anything else (a 404, a 500, another user's view) fails.
    answers = {
        "004": (d2d.get("/api/v1/project/alpha/jobs", token), lambda body: body["success"] is True and body["data"] == []),
        "001": (d2d.get(f"/api/v1/task?id={task_id}", token), lambda body: body["success"] is True and body["data"]["task_id"] == task_id),
        "003": (d2d.get("/api/tasks/", token), lambda body: body == {"data": {"tasks": []}}),
        "000": (d2d.get("/api/v1/uploads/services", token), lambda body: "ocr" in json_text(body)),
    }
    for contract, (answer, expected) in answers.items():
        assert answer.status_code == 200, (contract, answer.status_code, answer.text)
        assert expected(answer.json()), (contract, answer.text)


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
