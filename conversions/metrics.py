"""Prometheus metrics for 001's /api/v1/status, read from the database at scrape time.

Workers are other processes (and other machines), so in-process counters would only
see the web process's share; the task rows are the one place every process writes.
"""

from datetime import timedelta

from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, Sum
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

from conversions.converters import all_services
from conversions.models import ConversionTask, InputAsset, Stage
from kernel.models import FINISHED_STATUSES

DURATION_BUCKETS = (1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 24 * 3600)


class ConversionCollector:
    def collect(self):
        live = ConversionTask.objects.all()
        pending = live.exclude(status__in=FINISHED_STATUSES).count()
        yield GaugeMetricFamily("pending_tasks_total", "Tasks not finished yet (created, downloading, waiting, processing).", value=pending)

        by_status = GaugeMetricFamily("d2d_conversion_tasks", "Tasks by 001 status and service.", labels=["status", "service"])
        rows = live.with_contract_status().values("contract_status_db", "service").annotate(n=Count("id"))
        counts = {(row["contract_status_db"], row["service"]): row["n"] for row in rows}
        # Every status of every service, zeros included, so dashboards see a series before its first task.
        for service in sorted({*all_services(), *(service for _, service in counts)}):
            for stage in Stage.values:
                by_status.add_metric([stage, service], counts.get((stage, service), 0))
        yield by_status

        yield self._durations()

        downloaded = InputAsset.objects.aggregate(total=Sum("downloaded_bytes"))["total"] or 0
        yield CounterMetricFamily("d2d_conversion_downloaded_bytes", "Bytes fetched from asset URLs.", value=downloaded)

    def _durations(self):
        finished = ConversionTask.all_objects.filter(
            status__in=FINISHED_STATUSES, started_at__isnull=False, finished_at__isnull=False
        ).annotate(took=ExpressionWrapper(F("finished_at") - F("started_at"), output_field=DurationField()))
        counts = finished.aggregate(
            total=Count("id"),
            took_sum=Sum("took"),
            **{f"le_{bound}": Count("id", filter=Q(took__lte=timedelta(seconds=bound))) for bound in DURATION_BUCKETS},
        )
        buckets = [(str(float(bound)), counts[f"le_{bound}"]) for bound in DURATION_BUCKETS]
        buckets.append(("+Inf", counts["total"]))
        total_seconds = counts["took_sum"].total_seconds() if counts["took_sum"] else 0.0
        return HistogramMetricFamily(
            "d2d_conversion_task_duration_seconds",
            "Run time of finished tasks, from start to finish.",
            buckets=buckets,
            sum_value=total_seconds,
        )


_registry = CollectorRegistry(auto_describe=False)
_registry.register(ConversionCollector())


def metrics_text() -> tuple[bytes, str]:
    return generate_latest(_registry), CONTENT_TYPE_LATEST
