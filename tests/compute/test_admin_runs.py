"""A compute job's run page: what it read, its results and log to download; stop and delete-results actions;
datasets with their services; soft delete and restore."""

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from compute.models import ComputeJob, Dataset
from compute.orders import order_quote
from kernel.models import TaskStatus
from kernel.runner import task_enqueue

pytestmark = pytest.mark.django_db


@pytest.fixture
def finished_job(dataset, row_counter, consumer):
    order = order_quote(dataset=dataset, service=dataset.service(1), consumer=consumer.address)
    job = ComputeJob.objects.create(
        project=dataset.project, dataset=dataset, algorithm=row_counter, order=order, owner_address=consumer.address,
        status=TaskStatus.SUCCEEDED,
    )
    result = default_storage.save(f"compute/{job.job_id}/outputs/result.json", ContentFile(b'{"rows": 5}'))
    job.log_path = default_storage.save(f"compute/{job.job_id}/algorithm.log", ContentFile(b"counted 5\n"))
    job.results = [{"index": 0, "filename": "result.json", "size": 11, "path": result}]
    job.save()
    yield job
    for name in (result, job.log_path):
        if name and default_storage.exists(name):
            default_storage.delete(name)


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def test_it_shows_inputs_and_results_with_downloads_and_never_a_file_url(admin_client, finished_job, allow_file_server):
    page = admin_client.get(f"/admin/compute/computejob/{finished_job.pk}/change/").content.decode()
    assert 'name="_save"' not in page
    inputs = page[page.index("<h2>Inputs</h2>") : page.index("<h2>Results</h2>")]
    assert "five rows" in inputs and "text/csv" in inputs and "count rows" in inputs and "order" in inputs
    assert allow_file_server.hostport not in page
    result_url = f"/admin/compute/computejob/{finished_job.pk}/results/0/"
    log_url = f"/admin/compute/computejob/{finished_job.pk}/results/log/"
    assert result_url in page and log_url in page
    response = admin_client.get(result_url)
    assert response.status_code == 200 and body(response) == b'{"rows": 5}' and "result.json" in response["Content-Disposition"]
    assert body(admin_client.get(log_url)) == b"counted 5\n"
    assert admin_client.get(f"/admin/compute/computejob/{finished_job.pk}/results/7/").status_code == 404


def test_the_delete_results_action_removes_the_files_and_the_page_says_so(admin_client, finished_job):
    paths = [finished_job.results[0]["path"], finished_job.log_path]
    response = admin_client.post("/admin/compute/computejob/", {"action": "delete_results_selected", "_selected_action": [finished_job.pk]})
    assert response.status_code == 302
    job = ComputeJob.objects.get(pk=finished_job.pk)
    assert job.removed_at is not None and job.results == [] and not any(default_storage.exists(path) for path in paths)
    page = admin_client.get(f"/admin/compute/computejob/{job.pk}/change/").content.decode()
    assert "deleted by the owner" in page
    assert admin_client.get(f"/admin/compute/computejob/{job.pk}/results/0/").status_code == 404


def test_the_stop_action_stops_a_queued_job(admin_client, dataset, consumer):
    job = ComputeJob.objects.create(project=dataset.project, dataset=dataset, owner_address=consumer.address)
    task_enqueue(job)
    response = admin_client.post("/admin/compute/computejob/", {"action": "stop_selected", "_selected_action": [job.pk]})
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == TaskStatus.CANCELLED and job.stop_reason == "stopped by admin in the admin"


def test_a_dataset_shows_its_services(admin_client, dataset):
    listing = admin_client.get("/admin/compute/dataset/").content.decode()
    assert "0: access, 1: compute" in listing
    page = admin_client.get(f"/admin/compute/dataset/{dataset.pk}/change/").content.decode()
    assert "<td>0</td><td>access</td><td>1</td>" in page and "<td>1</td><td>compute</td><td>2</td>" in page


def test_datasets_are_soft_deleted_and_restored_by_their_actions(admin_client, dataset):
    admin_client.post("/admin/compute/dataset/", {"action": "soft_delete_selected", "_selected_action": [dataset.pk]})
    assert not Dataset.objects.filter(pk=dataset.pk).exists() and Dataset.all_objects.get(pk=dataset.pk).deleted_by.username == "admin"
    admin_client.post("/admin/compute/dataset/?deleted=deleted", {"action": "restore_selected", "_selected_action": [dataset.pk]})
    assert Dataset.objects.filter(pk=dataset.pk).exists()


def test_the_mark_paid_action_counts_what_it_marked(admin_client, dataset, consumer):
    orders = [order_quote(dataset=dataset, service=dataset.service(0), consumer=consumer.address) for _ in range(2)]
    response = admin_client.post("/admin/compute/order/", {"action": "mark_paid", "_selected_action": [o.pk for o in orders]}, follow=True)
    assert "Marked 2 order(s) paid." in response.content.decode()
