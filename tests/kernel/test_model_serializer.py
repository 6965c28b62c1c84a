"""kernel.api.serializers.ModelSerializer answers exactly as DRF's ModelSerializer, with fields built once per class."""

import pytest
from rest_framework import serializers
from rest_framework.test import APIRequestFactory

from conversions.api.serializers import InputAssetSerializer, ResultFileSerializer, TaskDetailSerializer, TaskSummarySerializer
from conversions.models import ConversionTask, InputAsset, ResultFile
from kernel.api.serializers import ModelSerializer

pytestmark = pytest.mark.django_db


def drf_answer(serializer_class, instance, context) -> dict:
    """DRF's own Serializer.to_representation: every field built for this instance and bound to it."""
    return serializers.Serializer.to_representation(serializer_class(context=context), instance)


def test_it_answers_as_drf_does(alice, project_a):
    task = ConversionTask.objects.create(project=project_a, owner=alice, service="tabular", params={"to": "parquet", "n": [1]},
                                         status=ConversionTask.Status.SUCCEEDED, progress=100, attempts=1)
    InputAsset.objects.create(task=task, file_name="a.csv", attributes={"k": "v"}, status=InputAsset.Status.DOWNLOADED, size=12)
    InputAsset.objects.create(task=task, file_name="", download_url="https://example.com/b.csv")
    ResultFile.objects.create(task=task, name="a.parquet", file="conversions/x/a.parquet", size=99, content_type="application/x-parquet")
    context = {"request": APIRequestFactory().get("/api/v1/tasks/")}
    cases = [(InputAssetSerializer, asset) for asset in task.inputs.all()] + [(ResultFileSerializer, task.results.get())]
    cases += [(TaskSummarySerializer, task), (TaskDetailSerializer, task)]
    for serializer_class, instance in cases:
        assert serializer_class._representation_plan() is not None, serializer_class  # the shared plan is used
        ours = serializer_class(instance, context=context).data
        assert ours == drf_answer(serializer_class, instance, context), serializer_class
    detail = TaskDetailSerializer(task, context=context).data
    assert detail["download_url"] == f"http://testserver/api/v1/downloads/{task.pk}"  # this request's context
    assert [item["file_name"] for item in detail["inputs"]] == ["a.csv", ""] and detail["results"][0]["size"] == 99
    assert detail["project"] == project_a.pk and detail["status"] == "success" and detail["params"] == {"to": "parquet", "n": [1]}
    many = TaskSummarySerializer([task, task], many=True, context=context).data
    assert [dict(item) for item in many] == [drf_answer(TaskSummarySerializer, task, context)] * 2


def test_a_field_it_cannot_share_falls_back_to_drf(alice, project_a):
    class WithFile(ModelSerializer):
        class Meta:
            model = ResultFile
            fields = ["id", "file"]  # a FileField builds its URL from the request: never shared

    task = ConversionTask.objects.create(project=project_a, owner=alice, service="tabular", params={})
    result = ResultFile.objects.create(task=task, name="r", file="conversions/r.bin", size=1)
    context = {"request": APIRequestFactory().get("/")}
    assert WithFile._representation_plan() is None
    assert WithFile(result, context=context).data == drf_answer(WithFile, result, context)
    assert WithFile(result, context=context).data["file"].startswith("http://testserver/")
