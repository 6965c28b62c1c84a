"""Dashboard selectors of labeling: commits by status, the ones waiting for review first (one query)."""

from datetime import datetime

from django.db.models import Count

from kernel.dashboard import Figure, Section, admin_rows, can_view, changelist_url, dashboard_register
from labeling.models import Commit, CommitStatus


def commits_section(request, now: datetime) -> Section | None:
    if not can_view(request, Commit):
        return None
    counts = dict(admin_rows(request, Commit).values_list("status").annotate(count=Count("pk")))
    order = [CommitStatus.UPLOADED, CommitStatus.OPEN, CommitStatus.ACCEPTED, CommitStatus.REJECTED, CommitStatus.EXPIRED]
    labels = {CommitStatus.UPLOADED: "to review", CommitStatus.OPEN: "open"}
    return Section(
        "Labeling commits",
        figures=[
            Figure(labels.get(status, str(status.label).lower()), counts.get(status, 0), changelist_url(Commit, status__exact=status))
            for status in order
        ],
    )


def register() -> None:
    dashboard_register("labeling.commits", commits_section, order=50)
