"""Housekeeping schedules the platform needs in every deployment, created after migrate."""

from django.db import DEFAULT_DB_ALIAS


def ensure_housekeeping_schedules(sender=None, using=DEFAULT_DB_ALIAS, **kwargs):
    from django_q.models import Schedule

    Schedule.objects.using(using).update_or_create(
        name="d2d: recover stale tasks",
        defaults={
            "func": "kernel.runner.recover_stale_tasks",
            "schedule_type": Schedule.MINUTES,
            "minutes": 1,
            "repeats": -1,
        },
    )
    Schedule.objects.using(using).update_or_create(
        name="d2d: sweep scratch folders",
        defaults={
            "func": "kernel.runner.sweep_scratch_folders",
            "schedule_type": Schedule.HOURLY,
            "repeats": -1,
        },
    )
