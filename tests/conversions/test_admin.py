"""The admin console for conversion tasks: list, filters, detail with inlines and log, actions."""

import pytest
from django.test import Client

from accounts.services import user_create
from conversions import lifecycle
from conversions.models import ConversionTask

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture
def staff(db):
    user = user_create(username="root", email="root@example.com", password="correct-horse-battery", is_staff=True)
    user.is_superuser = True
    user.save()
    client = Client()
    client.force_login(user)
    return client


def test_it_lists_filters_shows_and_acts_on_tasks(staff, alice, project_a):
    task = lifecycle.task_register(user=alice, service="tabular", project_id="alpha")
    lifecycle.assets_add(task=task, assets=[{"download_url": "http://files.example.com/a.csv", "file_name": "a.csv"}], start=False)
    page = staff.get("/admin/conversions/conversiontask/?service=tabular&status__exact=created")
    assert page.status_code == 200 and str(task.pk)[:8] in page.content.decode() and "<progress" in page.content.decode()
    detail = staff.get(f"/admin/conversions/conversiontask/{task.pk}/change/")
    text = detail.content.decode()
    assert detail.status_code == 200 and "a.csv" in text and "http://files.example.com/a.csv" in text
    assert "no log lines yet" in text

    def act(action):
        response = staff.post("/admin/conversions/conversiontask/", {"action": action, "_selected_action": [str(task.pk)]})
        assert response.status_code == 302

    act("run_again_selected")
    assert ConversionTask.objects.get(pk=task.pk).status == "queued"
    act("cancel_selected")
    assert ConversionTask.objects.get(pk=task.pk).status == "cancelled"
    act("delete_selected_tasks")
    assert not ConversionTask.objects.filter(pk=task.pk).exists()
    staff.post("/admin/conversions/conversiontask/?deleted=deleted", {"action": "restore_selected_tasks", "_selected_action": [str(task.pk)]})
    assert ConversionTask.objects.filter(pk=task.pk).exists()
