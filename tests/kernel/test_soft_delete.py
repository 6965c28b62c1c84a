"""Soft delete: hidden by default, visible through all_objects, restorable, names reusable."""

import pytest
from django.db import IntegrityError, transaction

from accounts.models import Project
from accounts.services import project_create
from tests.probe.models import ProbeWidget

pytestmark = pytest.mark.django_db


def test_it_hides_deleted_rows_and_restores_them(alice):
    project = project_create(project_id="temp", name="Temp")
    project.delete(by=alice)
    assert not Project.objects.filter(pk="temp").exists()
    deleted = Project.all_objects.get(pk="temp")
    assert deleted.deleted_by == alice and deleted.is_deleted
    deleted.restore()
    assert Project.objects.filter(pk="temp").exists()


def test_it_soft_deletes_querysets_and_hard_deletes_only_when_asked(db):
    project_create(project_id="one", name="One")
    Project.objects.filter(pk="one").delete()
    assert Project.all_objects.filter(pk="one").exists()
    Project.all_objects.filter(pk="one").hard_delete()
    assert not Project.all_objects.filter(pk="one").exists()


def test_it_makes_names_unique_among_live_rows_only(db):
    first = ProbeWidget.objects.create(name="orders")
    with pytest.raises(IntegrityError), transaction.atomic():
        ProbeWidget.objects.create(name="orders")
    first.delete()
    ProbeWidget.objects.create(name="orders")  # the deleted name is free again
    assert ProbeWidget.all_objects.filter(name="orders").count() == 2
