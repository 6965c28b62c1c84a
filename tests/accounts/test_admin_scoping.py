"""Staff who are not superusers see and act only on their own projects, in every admin.

alice owns alpha and bob views it; charlie owns beta. All three are staff with every model
permission, so only their memberships keep them apart.
"""

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, Permission
from django.test import Client

from accounts.admin_scoping import ProjectScopedAdminMixin
from accounts.models import Membership
from conversions.models import ConversionTask
from pipelines.models import Destination, Job, Source

pytestmark = pytest.mark.django_db

SECRET = "pg-Secret-42"


@pytest.fixture
def world(project_a, project_b, alice, bob, charlie):
    group = Group.objects.create(name="staff")
    group.permissions.set(Permission.objects.all())
    objects = {}
    for user in (alice, bob, charlie):
        user.is_staff = True
        user.save()
        user.groups.add(group)
    for project, owner in ((project_a, alice), (project_b, charlie)):
        source = Source(project=project, name=f"{project.pk}-src", type="postgres", version="latest", created_by=owner)
        source.config = {"host": "127.0.0.1", "port": 5432, "database": "d", "username": "u", "password": SECRET}
        source.save()
        destination = Destination(project=project, name=f"{project.pk}-dst", type="parquet", version="latest")
        destination.config = {"path": "out"}
        destination.save()
        job = Job.objects.create(project=project, name=f"{project.pk}-job", source=source, destination=destination)
        task = ConversionTask.objects.create(project=project, owner=owner, service="geojson")
        objects[project.pk] = {"project": project, "source": source, "job": job, "conversiontask": task}
    return objects


def client_of(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


PAGES = {
    "project": "/admin/accounts/project/",
    "source": "/admin/pipelines/source/",
    "job": "/admin/pipelines/job/",
    "conversiontask": "/admin/conversions/conversiontask/",
}


@pytest.mark.parametrize("kind", list(PAGES))
def test_each_staff_user_lists_only_their_projects_rows(world, alice, charlie, kind):
    for user, own, other in ((alice, "alpha", "beta"), (charlie, "beta", "alpha")):
        response = client_of(user).get(PAGES[kind])
        assert response.status_code == 200
        shown = {row.pk for row in response.context["cl"].result_list}
        assert shown == {world[own][kind].pk}, (user.username, kind)
        assert world[other][kind].pk not in shown


@pytest.mark.parametrize("kind", list(PAGES))
def test_another_projects_object_does_not_exist_for_them(world, alice, kind):
    other = world["beta"][kind]
    client = client_of(alice)
    response = client.get(f"{PAGES[kind]}{other.pk}/change/", follow=True)
    assert response.redirect_chain[-1][0] == "/admin/"
    assert "doesn’t exist" in response.content.decode()
    assert str(other) not in response.content.decode() or kind == "conversiontask"
    own = world["alpha"][kind]
    assert client.get(f"{PAGES[kind]}{own.pk}/change/").status_code == 200
    for page in ("history", "delete"):
        response = client.get(f"{PAGES[kind]}{other.pk}/{page}/")
        assert response.status_code in (302, 403, 404), (kind, page, response.status_code)
        assert SECRET not in response.content.decode()


def test_a_viewer_reads_but_cannot_change_nor_act(world, bob):
    client = client_of(bob)
    source = world["alpha"]["source"]
    page = client.get(f"/admin/pipelines/source/{source.pk}/change/")
    assert page.status_code == 200 and b'name="_save"' not in page.content
    response = client.post(f"/admin/pipelines/source/{source.pk}/change/", {"name": "renamed"})
    assert response.status_code == 403
    data = {"action": "soft_delete_selected", "_selected_action": [source.pk]}
    client.post("/admin/pipelines/source/", data, follow=True)
    assert not Source.all_objects.get(pk=source.pk).is_deleted
    assert client.get("/admin/pipelines/source/add/").status_code == 403


def test_actions_skip_rows_of_other_projects(world, alice):
    mine, theirs = world["alpha"]["job"], world["beta"]["job"]
    data = {"action": "soft_delete_selected", "_selected_action": [mine.pk, theirs.pk]}
    client_of(alice).post("/admin/pipelines/job/", data, follow=True)
    assert Job.all_objects.get(pk=mine.pk).is_deleted
    assert not Job.all_objects.get(pk=theirs.pk).is_deleted


def test_foreign_key_choices_and_filters_offer_only_their_projects(world, alice):
    client = client_of(alice)
    form = client.get("/admin/pipelines/job/add/").context["adminform"].form
    assert {p.pk for p in form.fields["project"].queryset} == {"alpha"}
    assert {s.pk for s in form.fields["source"].queryset} == {world["alpha"]["source"].pk}
    form = client.get("/admin/accounts/membership/add/").context["adminform"].form
    assert {p.pk for p in form.fields["project"].queryset} == {"alpha"}

    listing = client.get("/admin/accounts/membership/")
    assert listing.status_code == 200
    filters = {spec.title: [choice["display"] for choice in spec.choices(listing.context["cl"])] for spec in listing.context["cl"].filter_specs}
    assert not any("Beta" in str(display) for displays in filters.values() for display in displays)
    assert "Beta" not in listing.content.decode()


def test_a_project_of_another_cannot_be_chosen_by_typing_its_id(world, alice, bob):
    response = client_of(alice).post("/admin/accounts/membership/add/", {"project": "beta", "user": bob.pk, "role": "owner"})
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert not Membership.objects.filter(project_id="beta", user=bob).exists()
    response = client_of(alice).post("/admin/accounts/membership/add/", {"project": "alpha", "user": bob.pk, "role": "editor"})
    assert response.status_code == 200 and "already exists" in response.content.decode()  # the form itself works


def test_admins_without_a_project_are_for_superusers_only(world, alice, admin_client):
    client = client_of(alice)
    for path in ("/admin/accounts/user/", "/admin/accounts/apitoken/", "/admin/axes/accessattempt/", "/admin/kernel/platformtask/"):
        assert client.get(path).status_code == 403, path
        assert admin_client.get(path).status_code == 200, path
    index = client.get("/admin/").content.decode()
    assert "/admin/pipelines/source/" in index and "/admin/accounts/user/" not in index


def test_only_an_owner_changes_the_project_and_no_staff_user_adds_one(world, alice, bob):
    assert client_of(alice).get("/admin/accounts/project/alpha/change/").context["has_change_permission"] is True
    assert client_of(bob).get("/admin/accounts/project/alpha/change/").context["has_change_permission"] is False
    assert client_of(alice).get("/admin/accounts/project/add/").status_code == 403


def test_every_registered_admin_is_scoped():
    unscoped = [model._meta.label for model, model_admin in admin.site._registry.items() if not isinstance(model_admin, ProjectScopedAdminMixin)]
    assert unscoped == []


def test_a_superuser_sees_every_project(world, admin_client):
    response = admin_client.get("/admin/pipelines/source/")
    assert {row.pk for row in response.context["cl"].result_list} == {world["alpha"]["source"].pk, world["beta"]["source"].pk}


def test_an_editor_cannot_choose_a_project_for_a_membership_only_its_owner_can(world, alice, project_b):
    from accounts.services import membership_set

    membership_set(project=project_b, user=alice, role="editor")
    client = client_of(alice)
    form = client.get("/admin/accounts/membership/add/").context["adminform"].form
    assert {p.pk for p in form.fields["project"].queryset} == {"alpha"}
    form = client.get("/admin/pipelines/job/add/").context["adminform"].form
    assert {p.pk for p in form.fields["project"].queryset} == {"alpha", "beta"}
