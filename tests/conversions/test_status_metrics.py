"""/api/v1/status: public Prometheus text that prometheus_client's parser reads."""

from datetime import timedelta

from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from conversions.models import ConversionTask, InputAsset, Stage


def test_it_counts_pending_tasks_by_status_and_service_with_durations_and_bytes(client, alice, project_a):
    now = timezone.now()
    make = ConversionTask.objects.create
    make(project=project_a, service="ocr")
    make(project=project_a, service="ocr", status="running", stage=Stage.WAITING)
    done = make(project=project_a, service="tabular", status="succeeded", started_at=now - timedelta(seconds=3), finished_at=now)
    make(project=project_a, service="tabular", status="failed", started_at=now - timedelta(seconds=100), finished_at=now)
    InputAsset.objects.create(task=done, file_name="a", download_url="http://example.com/a", downloaded_bytes=1234)

    response = client.get("/api/v1/status")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    assert "\npending_tasks_total 2.0\n" in "\n" + response.content.decode()
    families = {family.name: family for family in text_string_to_metric_families(response.content.decode())}
    by = {(s.labels["status"], s.labels["service"]): s.value for s in families["d2d_conversion_tasks"].samples}
    assert by[("CREATED", "ocr")] == 1 and by[("WAITING", "ocr")] == 1
    assert by[("COMPLETED", "tabular")] == 1 and by[("FAILED", "tabular")] == 1 and by[("PROCESSING", "gallery")] == 0
    buckets = {s.labels["le"]: s.value for s in families["d2d_conversion_task_duration_seconds"].samples if s.name.endswith("_bucket")}
    assert buckets["1.0"] == 0 and buckets["5.0"] == 1 and buckets["300.0"] == 2 and buckets["+Inf"] == 2
    total = [s for s in families["d2d_conversion_task_duration_seconds"].samples if s.name.endswith("_sum")][0].value
    assert abs(total - 103) < 0.01
    assert families["d2d_conversion_downloaded_bytes"].samples[0].value == 1234
