"""Reads for the command line: find a job, source or destination by id or by name."""

from django.core.management.base import CommandError


def by_ref(model, ref: str, project: str | None = None):
    """The live row whose id is ``ref``, or whose name is ``ref`` (in ``project`` when names repeat)."""
    rows = model.objects.all()
    if project:
        rows = rows.filter(project_id=project)
    if ref.isdigit() and rows.filter(pk=int(ref)).exists():
        return rows.get(pk=int(ref))
    matches = list(rows.filter(name=ref)[:2])
    if not matches:
        raise CommandError(f"no {model._meta.verbose_name} {ref!r}" + (f" in project {project}" if project else ""))
    if len(matches) > 1:
        raise CommandError(f"several {model._meta.verbose_name_plural} are named {ref!r}: add --project")
    return matches[0]
