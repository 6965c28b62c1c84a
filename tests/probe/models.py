"""ProbeTask: a tracked task for exercising the runner."""

from django.db import models

from kernel.models import SoftDeleteModel, TrackedTask, live_unique


class ProbeTask(TrackedTask):
    sleep_seconds = models.FloatField(default=0)
    fail_first = models.PositiveIntegerField(default=0, help_text="raise during this many first attempts")
    fail_for_good = models.BooleanField(default=False, help_text="raise TaskFailed: a failure no retry can fix")
    runs = models.PositiveIntegerField(default=0, help_text="how many times the handler body started")



class ProbeWidget(SoftDeleteModel):
    """A soft-deletable row with a name unique among live rows."""

    name = models.CharField(max_length=20)

    class Meta:
        constraints = [live_unique("name", name="probewidget_live_name")]
