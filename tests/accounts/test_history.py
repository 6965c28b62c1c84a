"""Projects and memberships keep a history of who changed what and when, from the API and from the admin."""

import pytest

from accounts.models import Membership, Project

pytestmark = pytest.mark.django_db


def test_an_api_change_of_a_membership_is_credited_to_the_caller(project_a, api, alice, bob, make_user):
    make_user("dana")
    client = api(alice)
    assert client.post("/api/v1/projects/alpha/members", {"username": "dana", "role": "viewer"}).status_code == 201
    assert client.put("/api/v1/projects/alpha/members/dana", {"role": "editor"}).status_code == 200
    assert client.delete("/api/v1/projects/alpha/members/dana").status_code == 204

    records = Membership.history.filter(project_id="alpha", user__username="dana").order_by("history_id")
    assert [(r.history_type, r.role, r.history_user) for r in records] == [
        ("+", "viewer", alice), ("~", "editor", alice), ("-", "editor", alice),
    ]


def test_an_admin_change_of_a_project_is_in_its_history_with_the_staff_user(project_a, admin_client, admin_user):
    form = {
        "id": "alpha", "name": "Alpha renamed", "description": "",
        "memberships-TOTAL_FORMS": "0", "memberships-INITIAL_FORMS": "0",
        "memberships-MIN_NUM_FORMS": "0", "memberships-MAX_NUM_FORMS": "1000",
    }
    response = admin_client.post("/admin/accounts/project/alpha/change/", form)
    assert response.status_code == 302, response.content.decode()[-3000:]
    latest = Project.history.filter(id="alpha").latest()
    assert latest.name == "Alpha renamed" and latest.history_user == admin_user and latest.history_type == "~"

    page = admin_client.get("/admin/accounts/project/alpha/history/").content.decode()
    assert "Alpha renamed" in page and admin_user.username in page


def test_a_past_version_is_shown_but_not_saved_back(project_a, admin_client):
    first = Project.history.filter(id="alpha").earliest()
    Project.objects.filter(pk="alpha").update(name="Alpha now")
    url = f"/admin/accounts/project/alpha/history/{first.history_id}/"
    page = admin_client.get(url)
    assert page.status_code == 200 and "Alpha" in page.content.decode() and "Revert" not in page.content.decode()
    response = admin_client.post(url, {"id": "alpha", "name": "Alpha", "description": ""})
    assert response.status_code == 403
    assert Project.objects.get(pk="alpha").name == "Alpha now"
