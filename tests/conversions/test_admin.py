"""The admin console for conversion tasks: list, filters, detail with inlines and log, actions."""

import pytest

from conversions import lifecycle
from conversions.models import ConversionTask

pytestmark = [pytest.mark.django_db(transaction=True)]


def test_it_lists_filters_shows_and_acts_on_tasks(admin_client, alice, project_a):
    task = lifecycle.task_register(user=alice, service="tabular", project_id="alpha")
    lifecycle.assets_add(task=task, assets=[{"download_url": "http://files.example.com/a.csv", "file_name": "a.csv"}], start=False)
    page = admin_client.get("/admin/conversions/conversiontask/?service=tabular&status__exact=created")
    assert page.status_code == 200 and str(task.pk)[:8] in page.content.decode() and "<progress" in page.content.decode()
    detail = admin_client.get(f"/admin/conversions/conversiontask/{task.pk}/change/")
    text = detail.content.decode()
    assert detail.status_code == 200 and "a.csv" in text and "http://files.example.com/a.csv" in text
    assert "no log lines yet" in text

    def act(action):
        response = admin_client.post("/admin/conversions/conversiontask/", {"action": action, "_selected_action": [str(task.pk)]})
        assert response.status_code == 302

    act("run_again_selected")
    assert ConversionTask.objects.get(pk=task.pk).status == "queued"
    act("cancel_selected")
    assert ConversionTask.objects.get(pk=task.pk).status == "cancelled"
    act("delete_selected_tasks")
    assert not ConversionTask.objects.filter(pk=task.pk).exists()
    admin_client.post("/admin/conversions/conversiontask/?deleted=deleted", {"action": "restore_selected_tasks", "_selected_action": [str(task.pk)]})
    assert ConversionTask.objects.filter(pk=task.pk).exists()
