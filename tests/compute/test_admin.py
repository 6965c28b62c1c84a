"""The admin: every compute page opens, a dataset's files are typed in the clear and stored encrypted,
orders are marked paid by an action."""

import json

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from compute.keys import provider_decrypt
from compute.models import ComputeJob, Dataset, Order
from compute.orders import order_quote
from tests.compute.conftest import DATATOKEN

pytestmark = pytest.mark.django_db


def test_it_opens_every_compute_page(admin_client, dataset, row_counter, consumer, allow_file_server):
    order_quote(dataset=dataset, service=dataset.service(0), consumer=consumer.address)
    job = ComputeJob.objects.create(project=dataset.project, dataset=dataset, owner_address=consumer.address)
    job.log_path = default_storage.save(f"compute/{job.job_id}/algorithm.log", ContentFile(b"counted <5>\n"))
    job.save()
    page = admin_client.get(f"/admin/compute/computejob/{job.pk}/change/")
    assert page.status_code == 200 and b"counted &lt;5&gt;" in page.content
    default_storage.delete(job.log_path)
    for model in ("dataset", "algorithm", "order", "nonce", "computejob"):
        assert admin_client.get(f"/admin/compute/{model}/").status_code == 200, model
    page = admin_client.get(f"/admin/compute/dataset/{dataset.pk}/change/")
    assert page.status_code == 200 and allow_file_server.hostport.encode() not in page.content


def test_it_encrypts_files_typed_in_the_admin(admin_client, project_a):
    files = [{"url": "https://files.example.com/secret.csv", "contentType": "text/csv"}]
    response = admin_client.post(
        "/admin/compute/dataset/add/",
        {
            "project": "alpha", "did": "did:op:admin", "name": "typed", "metadata": "{}", "publisher_address": "",
            "datatoken_address": DATATOKEN, "services": json.dumps([{"index": 0, "type": "access", "price": 1}]),
            "files_json": json.dumps(files),
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    dataset = Dataset.objects.get(did="did:op:admin")
    assert "files.example.com" not in dataset.encrypted_files + json.dumps(dataset.files)
    assert json.loads(provider_decrypt(dataset.encrypted_files)) == files


def test_it_marks_orders_paid_with_an_action(admin_client, dataset, consumer):
    order = order_quote(dataset=dataset, service=dataset.service(0), consumer=consumer.address)
    response = admin_client.post("/admin/compute/order/", {"action": "mark_paid", "_selected_action": [order.pk]})
    assert response.status_code == 302
    order = Order.objects.get(pk=order.pk)
    assert order.paid and order.tx_id.startswith("local:")
