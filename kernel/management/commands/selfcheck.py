"""manage.py selfcheck [--wait]: queue a self-check task (database, storage, worker) and optionally wait."""

import time

from django.core.management.base import BaseCommand, CommandError

from kernel.models import PlatformTask
from kernel.runner import task_enqueue


class Command(BaseCommand):
    help = "Queue a self-check on the worker; with --wait, wait for its result (needs a running worker)."

    def add_arguments(self, parser):
        parser.add_argument("--wait", type=int, default=0, help="seconds to wait for the worker")
        parser.add_argument("--seconds", type=int, default=0, help="how long the check itself takes")

    def handle(self, *args, wait, seconds, **options):
        task = PlatformTask.objects.create(kind=PlatformTask.Kind.SELFCHECK, params={"seconds": seconds})
        task_enqueue(task)
        self.stdout.write(f"queued self-check {task.pk}")
        deadline = time.monotonic() + wait
        while wait and time.monotonic() < deadline:
            task.refresh_from_db()
            if task.is_finished:
                break
            time.sleep(0.5)
        task.refresh_from_db()
        self.stdout.write(f"{task.status} {task.result or ''}")
        if wait and task.status != PlatformTask.Status.SUCCEEDED:
            raise CommandError(f"self-check {task.status}: {task.error or 'no worker picked it up in time'}")
