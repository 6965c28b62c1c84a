"""django-q2 entry points of conversions: thin wrappers over conversions.processing."""

from conversions.processing import run_conversion


def run_conversion_task(run) -> None:
    run_conversion(run)
