"""Staff start a conversion from an uploaded file in the admin, through the conversions service, and download its results."""

import io

import pyarrow.parquet as pq
import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile

from conversions.models import ConversionTask, InputAsset
from kernel.models import TaskStatus
from kernel.runner import execute

pytestmark = [pytest.mark.django_db(transaction=True)]
START = "/admin/conversions/conversiontask/start/"


def csv_upload(name="people.csv", body=b"name,age\nada,36\ngrace,45\n"):
    return SimpleUploadedFile(name, body, content_type="text/csv")


def test_it_starts_a_conversion_from_an_upload_and_offers_its_results(admin_client, project_a):
    assert "Start a conversion" in admin_client.get("/admin/conversions/conversiontask/").content.decode()
    assert admin_client.get(START).status_code == 200
    response = admin_client.post(START, {"project": "alpha", "service": "tabular", "params": '{"to": "parquet"}', "file": csv_upload()})
    assert response.status_code == 302, response.content.decode()[:2000]
    task = ConversionTask.objects.get()
    assert response["Location"] == f"/admin/conversions/conversiontask/{task.pk}/change/"
    assert task.status == TaskStatus.QUEUED and task.project_id == "alpha" and task.params["to"] == "parquet" and task.last_batch
    asset = InputAsset.objects.get(task=task)
    assert asset.file_name == "people.csv" and asset.status == InputAsset.Status.DOWNLOADED

    assert execute("conversions.ConversionTask", str(task.pk)) == "succeeded"
    page = admin_client.get(f"/admin/conversions/conversiontask/{task.pk}/change/").content.decode()
    result = task.results.get()
    download = f"/admin/conversions/resultfile/{result.pk}/download/"
    assert download in page and f"/admin/conversions/inputasset/{asset.pk}/download/" in page
    table = pq.read_table(io.BytesIO(b"".join(admin_client.get(download).streaming_content)))
    assert table.column("name").to_pylist() == ["ada", "grace"]
    assert b"".join(admin_client.get(f"/admin/conversions/inputasset/{asset.pk}/download/").streaming_content).startswith(b"name,age")


def test_it_shows_the_services_refusal_at_the_form_and_keeps_nothing(admin_client, project_a):
    response = admin_client.post(START, {"project": "alpha", "service": "tabular", "params": "{}", "file": csv_upload("notes.docx", b"x")})
    assert response.status_code == 200
    assert "the tabular service accepts" in response.content.decode()
    assert not ConversionTask.all_objects.exists() and not InputAsset.objects.exists()
    response = admin_client.post(START, {"project": "alpha", "service": "tabular", "params": '{"to": "no-such-format"}', "file": csv_upload()})
    html = response.content.decode()
    assert response.status_code == 200 and ('class="errornote"' in html or 'class="errorlist' in html) and "no-such-format" in html
    assert not ConversionTask.all_objects.exists()


def test_it_offers_staff_only_the_projects_they_may_edit_and_needs_the_add_permission(client, make_user, project_a, project_b):
    clerk = make_user("clerk", is_staff=True)
    client.force_login(clerk)
    assert client.get(START).status_code == 403
    clerk.user_permissions.add(Permission.objects.get(codename="add_conversiontask"))
    client.force_login(clerk)
    response = client.post(START, {"project": "beta", "service": "tabular", "params": "{}", "file": csv_upload()})
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert not ConversionTask.all_objects.exists()
