"""Projects and roles: members see their projects only, viewers read, owners manage members."""

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Membership, Project

pytestmark = pytest.mark.django_db


def test_it_lists_only_the_callers_projects(alice, charlie, project_a, project_b, api):
    assert [p["id"] for p in api(alice).get("/api/v1/projects/").json()] == ["alpha"]
    assert [p["id"] for p in api(charlie).get("/api/v1/projects/").json()] == ["beta"]


def test_it_hides_another_projects_members_behind_404(alice, project_a, project_b, api):
    response = api(alice).get("/api/v1/projects/beta/members")
    assert response.status_code == 404


def test_it_lets_owners_manage_members_and_refuses_viewers(alice, bob, charlie, project_a, api):
    assert api(bob).post("/api/v1/projects/alpha/members", {"username": "charlie", "role": "editor"}).status_code == 403
    response = api(alice).post("/api/v1/projects/alpha/members", {"username": "charlie", "role": "editor"})
    assert response.status_code == 201 and response.json()["role"] == "editor"
    assert api(alice).put("/api/v1/projects/alpha/members/charlie", {"role": "viewer"}).json()["role"] == "viewer"
    assert api(alice).delete("/api/v1/projects/alpha/members/charlie").status_code == 204
    assert not Membership.objects.filter(project=project_a, user=charlie).exists()


def test_it_keeps_at_least_one_owner(alice, project_a, api):
    response = api(alice).put("/api/v1/projects/alpha/members/alice", {"role": "viewer"})
    assert response.status_code == 409


def test_it_creates_projects_and_members_from_manage_py(alice, bob):
    call_command("project_create", "gamma", "Gamma", "--owner", "alice")
    call_command("project_add_member", "gamma", "bob", "--role", "editor")
    assert Membership.objects.get(project_id="gamma", user=bob).role == "editor"
    with pytest.raises(CommandError):
        call_command("project_create", "gamma", "Again")
    with pytest.raises(CommandError):
        call_command("project_create", "Not A Slug", "Bad")


def test_it_has_the_olake_project_after_migrate(db):
    assert Project.objects.filter(pk="olake").exists()
