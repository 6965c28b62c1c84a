"""Findings of the schemathesis run (tests/fuzz) in the kernel's own API, kept as focused regressions."""

import pytest


@pytest.mark.parametrize(
    "body, format",
    [
        ({"kind": "selfcheck", "params": "null"}, "multipart"),  # a form's "null" parses to None: was a 500
        ({"kind": "selfcheck", "params": None}, "json"),
        ({"kind": "selfcheck", "params": [1, 2]}, "json"),
        ({"kind": "selfcheck", "params": "text"}, "json"),
    ],
)
def test_it_refuses_platform_task_params_that_are_not_an_object(api, make_user, body, format):
    staff = make_user("operator", is_staff=True)
    response = api(staff).post("/api/v1/platform/tasks", body, format=format)
    assert response.status_code == 400, response.content
    assert "params" in response.json()["errors"]


def test_it_still_takes_platform_task_params_as_an_object_or_not_at_all(api, make_user):
    staff = make_user("operator", is_staff=True)
    given = api(staff).post("/api/v1/platform/tasks", {"kind": "selfcheck", "params": {"seconds": 0}}, format="json")
    omitted = api(staff).post("/api/v1/platform/tasks", {"kind": "selfcheck"}, format="json")
    assert (given.status_code, given.json()["params"]) == (201, {"seconds": 0})
    assert (omitted.status_code, omitted.json()["params"]) == (201, {})
