"""A job's frequency (cron, @hourly-style, or OLake's "N-minutes|hours|days") as a django-q2 cron schedule."""

import re

from croniter import croniter
from django.utils import timezone

from kernel.errors import DomainError

SHORTHANDS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
EVERY = re.compile(r"^(\d+)[- ]?(minute|hour|day|week|month|year)s?$")


def frequency_to_cron(frequency: str) -> str:
    """The cron expression of a frequency; a 400 naming the frequency when it means nothing."""
    text = (frequency or "").strip().lower()
    if text in SHORTHANDS:
        return SHORTHANDS[text]
    match = EVERY.match(text)
    if match:
        count, unit = int(match.group(1)), match.group(2)
        limits = {"minute": 59, "hour": 23, "day": 31, "week": 4, "month": 12, "year": 1}
        if not 1 <= count <= limits[unit]:
            raise DomainError(f"frequency {frequency!r}: every {count} {unit}s cannot be scheduled", field="frequency")
        return {
            "minute": f"*/{count} * * * *",
            "hour": f"0 */{count} * * *",
            "day": f"0 0 */{count} * *",
            "week": f"0 0 */{7 * count} * *" if count > 1 else "0 0 * * 0",
            "month": f"0 0 1 */{count} *",
            "year": "0 0 1 1 *",
        }[unit]
    if len(text.split()) == 5 and croniter.is_valid(text):
        return text
    raise DomainError(
        f"frequency {frequency!r} is not a cron expression, an @hourly-style shorthand or 'N-minutes|hours|days'",
        field="frequency",
    )


def job_schedule_sync(job) -> None:
    """Register the job's schedule when it is live, active and has a frequency; remove it otherwise."""
    from django_q.models import Schedule

    if job.is_deleted or not job.activate or not job.frequency:
        Schedule.objects.filter(name=job.schedule_name).delete()
        return
    cron = frequency_to_cron(job.frequency)
    Schedule.objects.update_or_create(
        name=job.schedule_name,
        defaults={
            "func": "pipelines.tasks.job_sync_scheduled",
            "args": repr(job.pk),
            "schedule_type": Schedule.CRON,
            "cron": cron,
            "repeats": -1,
            "next_run": croniter(cron, timezone.now()).get_next(type(timezone.now())),
        },
    )
