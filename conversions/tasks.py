"""The handler of conversion tasks; the work is conversions.processing."""

from conversions.models import ConversionTask
from conversions.processing import run_conversion
from kernel.handlers import TaskHandler


class ConversionHandler(TaskHandler):
    """Fetches the task's input, runs its converter and stores the result."""

    model = ConversionTask

    def run(self) -> None:
        run_conversion(self.task_run)
