"""kernel.statements.Statement: a read compiled once answers as the ORM does for every value it is given."""

import uuid

import pytest
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext

from accounts.models import Membership, Project
from conversions.models import ConversionTask, InputAsset
from kernel.statements import Statement

pytestmark = pytest.mark.django_db


def fields(instance) -> dict:
    return {name: value for name, value in instance.__dict__.items() if name != "_state"}


def test_it_answers_as_the_orm_with_related_rows_and_annotations(alice, bob, charlie, project_a, project_b):
    build = (lambda shape, user_id, project_id: Membership.objects.select_related("project")
             .filter(user_id=user_id, project_id=project_id).order_by())
    statement = Statement(Membership, build, user_id=int, project_id=str)
    for user, project in [(alice, project_a), (bob, project_a), (charlie, project_a), (charlie, project_b), (bob, "nope")]:
        project_id = getattr(project, "pk", project)
        ours, orm = statement.all(user_id=user.pk, project_id=project_id), list(build((), user.pk, project_id))
        assert [fields(item) for item in ours] == [fields(item) for item in orm]
        assert [fields(item.project) for item in ours] == [fields(item.project) for item in orm]  # select_related
    with CaptureQueriesContext(connection) as queries:
        found = statement.first(user_id=bob.pk, project_id=project_a.pk)
        assert found.project.name == "Alpha" and found.role == "viewer"
    assert len(queries) == 1  # the project came with the membership

    counted = Statement(ConversionTask, lambda shape, task_id: ConversionTask.objects.filter(pk=task_id)
                        .annotate(n=Count("inputs")), task_id=uuid.UUID)
    task = ConversionTask.objects.create(project=project_a, owner=alice, service="tabular", params={"a": [1]})
    InputAsset.objects.create(task=task, file_name="a.csv")
    InputAsset.objects.create(task=task, file_name="b.csv")
    got = counted.first(task_id=str(task.pk))  # as text: cast to the slot's type
    assert got.n == 2 and got.params == {"a": [1]} and fields(got) == fields(ConversionTask.objects.annotate(n=Count("inputs")).get(pk=task.pk))
    assert counted.first(task_id=uuid.uuid4()) is None
    with pytest.raises(ValueError):
        counted.first(task_id="not-a-uuid")


def test_values_of_one_type_each_go_to_their_own_place(alice, bob, project_a):
    """Two int slots (a user and a job, say) must not be taken for one another."""
    build = lambda shape, user_id, membership_id: Membership.objects.filter(user_id=user_id, pk=membership_id)
    statement = Statement(Membership, build, user_id=int, membership_id=int)
    mine = Membership.objects.get(user=bob, project=project_a)
    assert [m.pk for m in statement.all(user_id=bob.pk, membership_id=mine.pk)] == [mine.pk]
    assert statement.all(user_id=alice.pk, membership_id=mine.pk) == []
    assert statement.all(user_id=mine.pk, membership_id=bob.pk) == list(build((), mine.pk, bob.pk))


def test_it_refuses_a_read_whose_sql_follows_the_values(alice, project_a):
    def build(shape, size):
        return Project.objects.order_by("pk")[:size]  # LIMIT is written into the SQL: a page is all(page=...)

    with pytest.raises(RuntimeError, match="not sliced"):
        Statement(Project, build, size=int).all(size=10)

    def transformed(shape, name):
        return Project.objects.filter(name__icontains=name)  # reaches the SQL as %name%: cannot be replayed

    with pytest.raises(RuntimeError, match="cannot replay"):
        Statement(Project, transformed, name=str).all(name="x")


def test_a_page_and_the_count_bind_their_values_and_answer_as_the_orm(alice, project_a, project_b):
    for number in range(5):
        Project.objects.create(pk=f"more-{number}", name=f"more {number}")
    statement = Statement(Project, lambda shape, prefix: Project.objects.exclude(pk=prefix).order_by("name", "pk"),
                          prefix=str)
    orm = list(Project.objects.exclude(pk="beta").order_by("name", "pk"))
    assert statement.count(prefix="beta") == len(orm) == Project.objects.exclude(pk="beta").count()
    for limit, offset in ((2, 0), (2, 2), (3, 4), (50, 0), (1, len(orm)), (2, 10**9)):
        page = statement.all(page=(limit, offset), prefix="beta")
        assert [p.pk for p in page] == [p.pk for p in orm[offset:offset + limit]], (limit, offset)
        assert [p.name for p in page] == [p.name for p in orm[offset:offset + limit]]
    assert [p.pk for p in statement.all(prefix="alpha")] == [p.pk for p in Project.objects.exclude(pk="alpha").order_by("name", "pk")]


def test_each_shape_is_compiled_on_its_own(alice, project_a, project_b):
    build = lambda everyone, user_id: (Project.objects.all() if everyone else Project.objects.filter(memberships__user_id=user_id))
    statement = Statement(Project, build, user_id=int)
    assert [p.pk for p in statement.all(shape=False, user_id=alice.pk)] == ["alpha"]
    everyone = sorted(p.pk for p in statement.all(shape=True, user_id=alice.pk))
    assert "beta" in everyone and everyone == sorted(Project.objects.values_list("pk", flat=True))


def test_attached_rows_answer_the_relation_without_a_query(alice, project_a):
    from kernel.statements import attach

    task = ConversionTask.objects.create(project=project_a, owner=alice, service="tabular", params={})
    for name in ("b.csv", "a.csv"):
        InputAsset.objects.create(task=task, file_name=name)
    inputs = Statement(InputAsset, lambda shape, task_id: InputAsset.objects.filter(task_id=task_id), task_id=uuid.UUID)
    attach(task, "inputs", inputs.all(task_id=task.pk))
    with CaptureQueriesContext(connection) as queries:
        names = [asset.file_name for asset in task.inputs.all()]
    assert len(queries) == 0 and names == [asset.file_name for asset in InputAsset.objects.filter(task=task)]
