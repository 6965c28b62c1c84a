"""The probe handler: counts its runs, sleeps in small steps reporting progress, fails on command."""

import time

from django.db.models import F

from kernel.errors import TaskFailed
from kernel.handlers import TaskHandler
from tests.probe.models import ProbeTask


class ProbeHandler(TaskHandler):
    model = ProbeTask

    def run(self):
        run = self.task_run
        task = run.task
        ProbeTask.objects.filter(pk=task.pk).update(runs=F("runs") + 1)
        run.log(f"probe running, attempt {run.attempt}")
        steps = max(1, int(task.sleep_seconds / 0.1))
        for step in range(steps):
            if task.sleep_seconds:
                time.sleep(task.sleep_seconds / steps)
            run.progress(100 * (step + 1) / steps, f"step {step + 1} of {steps}")
        if task.fail_for_good:
            raise TaskFailed("probe input cannot be processed")
        if run.attempt <= task.fail_first:
            raise RuntimeError(f"probe told to fail attempt {run.attempt}")
        run.log("probe done")
