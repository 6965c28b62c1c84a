"""GET /api/v1/tasks/ pages and filters through its compiled statement as the ORM would (issue 26)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from conversions.models import ConversionTask
from kernel.models import TaskStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def tasks(alice, project_a, project_b, charlie):
    made = []
    for number in range(7):
        made.append(ConversionTask.objects.create(
            project=project_a, owner=alice, service="ocr" if number % 2 else "tabular", params={},
            status=TaskStatus.SUCCEEDED if number % 3 == 0 else TaskStatus.CREATED))
        # distinct times: the list's only order is created_at
        ConversionTask.objects.filter(pk=made[-1].pk).update(created_at=timezone.now() - timedelta(minutes=number))
        made[-1].refresh_from_db()
    ConversionTask.objects.create(project=project_b, owner=charlie, service="ocr", params={})  # not alice's
    return sorted(made, key=lambda task: task.created_at, reverse=True)


def ids(client, query: str) -> tuple[int, list]:
    body = client.get(f"/api/v1/tasks/?{query}").json()
    return body["count"], [item["id"] for item in body["results"]]


def test_pages_follow_limit_and_offset_newest_first(tasks, alice, api):
    client, every = api(alice), [str(task.pk) for task in tasks]
    for limit, offset in ((3, 0), (3, 3), (3, 6), (50, 0), (2, 7), (1, 10**9)):
        assert ids(client, f"limit={limit}&offset={offset}") == (7, every[offset:offset + limit]), (limit, offset)


def test_filters_combine_on_every_page(tasks, alice, api):
    client = api(alice)
    ocr = [str(task.pk) for task in tasks if task.service == "ocr"]
    done_ocr = [str(task.pk) for task in tasks if task.service == "ocr" and task.status == TaskStatus.SUCCEEDED]
    assert ids(client, "service=ocr&limit=2&offset=1") == (len(ocr), ocr[1:3])
    assert ids(client, "service=ocr&status=success") == (len(done_ocr), done_ocr)
    assert ids(client, "service=ocr&stage=COMPLETED&status=success") == (len(done_ocr), done_ocr)
    assert ids(client, "service=nothing") == (0, [])
    assert ids(client, "service=ocr&created_after=2000-01-01T00:00:00Z&limit=1") == (len(ocr), ocr[:1])


def test_a_superuser_lists_every_project(tasks, api, django_user_model):
    admin = django_user_model.objects.create_superuser("root", "root@example.com", "pw-root-long-enough")
    assert ids(api(admin), "limit=100")[0] == 8
