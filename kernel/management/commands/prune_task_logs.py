"""manage.py prune_task_logs --days N: delete log lines of tasks finished N days ago."""

from django.core.management.base import BaseCommand

from kernel.models import PlatformTask
from kernel.runner import execute, task_enqueue


class Command(BaseCommand):
    help = "Delete the log lines of tasks that finished more than --days days ago (runs are kept)."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=30)

    def handle(self, *args, days, **options):
        task = PlatformTask.objects.create(kind=PlatformTask.Kind.PRUNE_LOGS, params={"days": days})
        task_enqueue(task)
        execute(task._meta.label, str(task.pk))  # in the foreground; the queued message then finds it finished
        task.refresh_from_db()
        self.stdout.write(f"{task.status}: {task.result}")
