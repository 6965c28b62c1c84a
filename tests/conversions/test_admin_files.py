"""Input assets and result files in the admin on their own: list columns, filters, search, download, retry."""

import pytest
from django.contrib import admin
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from conversions import files, lifecycle
from conversions.models import ConversionTask, InputAsset, ResultFile

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture
def task(alice, project_a):
    task = lifecycle.task_register(user=alice, service="tabular", project_id="alpha")
    lifecycle.files_upload(task=task, uploads=[SimpleUploadedFile("numbers.csv", b"a,b\n1,2\n")])
    lifecycle.assets_add(task=task, assets=[{"download_url": "http://files.example.com/gone.csv", "file_name": "gone.csv"}], start=False)
    InputAsset.objects.filter(file_name="gone.csv").update(status=InputAsset.Status.FAILED, failure_reason="failed: HTTP 404 Not Found")
    stored = files.storage().save(f"{task.storage_prefix}/results/b1/numbers.parquet", ContentFile(b"PAR1...PAR1"))
    ResultFile.objects.create(task=task, name="numbers.parquet", file=stored, size=11)
    ConversionTask.objects.filter(pk=task.pk).update(status=ConversionTask.Status.FAILED, error="no input could be used")
    task.refresh_from_db()
    return task


def test_it_registers_both_with_useful_columns_and_no_hand_made_rows():
    for model in (InputAsset, ResultFile):
        model_admin = admin.site._registry[model]
        assert "task_link" in model_admin.list_display and "download" in model_admin.list_display and "created_at" in model_admin.list_display
        assert model_admin.list_filter and "task__id" in model_admin.search_fields and model_admin.raw_id_fields == ["task"]
        assert "task" in model_admin.list_select_related
        assert not model_admin.has_add_permission(None) and not model_admin.has_delete_permission(None)


def test_it_lists_filters_and_searches_input_assets(admin_client, task):
    page = admin_client.get("/admin/conversions/inputasset/").content.decode()
    assert "numbers.csv" in page and "gone.csv" in page and "HTTP 404" in page
    assert f"/admin/conversions/conversiontask/{task.pk}/change/" in page
    failed = admin_client.get("/admin/conversions/inputasset/?status__exact=failed").content.decode()
    assert "gone.csv" in failed and "numbers.csv" not in failed
    uploads = admin_client.get("/admin/conversions/inputasset/?source=upload").content.decode()
    assert "numbers.csv" in uploads and "gone.csv" not in uploads
    found = admin_client.get("/admin/conversions/inputasset/", {"q": str(task.pk)[:8]}).content.decode()
    assert "numbers.csv" in found
    assert "numbers.csv" not in admin_client.get("/admin/conversions/inputasset/", {"q": "nothing-like-it"}).content.decode()
    asset = task.inputs.get(file_name="numbers.csv")
    detail = admin_client.get(f"/admin/conversions/inputasset/{asset.pk}/change/")
    assert detail.status_code == 200 and f"/admin/conversions/inputasset/{asset.pk}/download/" in detail.content.decode()


def test_it_lists_and_searches_result_files(admin_client, task):
    page = admin_client.get("/admin/conversions/resultfile/").content.decode()
    result = task.results.get()
    assert "numbers.parquet" in page and f"/admin/conversions/resultfile/{result.pk}/download/" in page
    assert "numbers.parquet" in admin_client.get("/admin/conversions/resultfile/", {"q": "tabular"}).content.decode()
    assert "numbers.parquet" in admin_client.get("/admin/conversions/resultfile/?is_archive__exact=0").content.decode()
    assert admin_client.get(f"/admin/conversions/resultfile/{result.pk}/change/").status_code == 200


def test_it_downloads_inputs_and_results_for_staff_only(admin_client, task, alice):
    asset = task.inputs.get(file_name="numbers.csv")
    response = admin_client.get(f"/admin/conversions/inputasset/{asset.pk}/download/")
    assert response.status_code == 200 and b"".join(response.streaming_content) == b"a,b\n1,2\n"
    assert 'filename="numbers.csv"' in response["Content-Disposition"]
    result = task.results.get()
    response = admin_client.get(f"/admin/conversions/resultfile/{result.pk}/download/")
    assert response.status_code == 200 and b"".join(response.streaming_content) == b"PAR1...PAR1"
    failed = task.inputs.get(file_name="gone.csv")
    assert admin_client.get(f"/admin/conversions/inputasset/{failed.pk}/download/").status_code == 404  # nothing stored
    outsider = Client()
    outsider.force_login(alice)  # not admin_client
    assert outsider.get(f"/admin/conversions/inputasset/{asset.pk}/download/").status_code == 302


def test_it_refuses_to_add_or_delete_rows_by_hand(admin_client, task):
    asset = task.inputs.first()
    assert admin_client.get("/admin/conversions/inputasset/add/").status_code == 403
    assert admin_client.get(f"/admin/conversions/inputasset/{asset.pk}/delete/").status_code == 403
    assert admin_client.get(f"/admin/conversions/resultfile/{task.results.get().pk}/delete/").status_code == 403


def test_it_retries_failed_downloads_by_running_the_task_again(admin_client, task):
    failed = task.inputs.get(file_name="gone.csv")
    uploaded = task.inputs.get(file_name="numbers.csv")
    response = admin_client.post(
        "/admin/conversions/inputasset/", {"action": "retry_failed_downloads", "_selected_action": [failed.pk, uploaded.pk]}
    )
    assert response.status_code == 302
    failed.refresh_from_db()
    uploaded.refresh_from_db()
    assert failed.status == InputAsset.Status.PENDING and failed.failure_reason == ""
    assert uploaded.status == InputAsset.Status.DOWNLOADED  # not a failed download: left alone
    task.refresh_from_db()
    assert task.status == ConversionTask.Status.QUEUED and task.stage == "DOWNLOADING"
    # Running or queued tasks are left to finish: nothing changes for their assets.
    InputAsset.objects.filter(pk=failed.pk).update(status=InputAsset.Status.FAILED, failure_reason="failed: again")
    admin_client.post("/admin/conversions/inputasset/", {"action": "retry_failed_downloads", "_selected_action": [failed.pk]})
    failed.refresh_from_db()
    assert failed.status == InputAsset.Status.FAILED


def test_it_lets_staff_correct_a_name_or_attributes_only_while_the_task_is_idle(admin_client, task):
    asset = task.inputs.get(file_name="gone.csv")
    form = {"file_name": "renamed.csv", "attributes": '{"longitude": 1}'}
    assert admin_client.post(f"/admin/conversions/inputasset/{asset.pk}/change/", form).status_code == 302
    asset.refresh_from_db()
    assert asset.file_name == "renamed.csv" and asset.attributes == {"longitude": 1}
    assert asset.download_url == "http://files.example.com/gone.csv"
    ConversionTask.objects.filter(pk=task.pk).update(status=ConversionTask.Status.RUNNING)
    admin_client.post(f"/admin/conversions/inputasset/{asset.pk}/change/", {"file_name": "again.csv", "attributes": "{}"})
    asset.refresh_from_db()
    assert asset.file_name == "renamed.csv"
