"""Tenant scoping: every API queryset starts from ``for_user`` and answers 404 outside it."""

from django.db import models
from django.http import Http404
from django.shortcuts import get_object_or_404

from accounts.models import ROLE_RANK, Membership, Project, Role
from kernel.errors import PermissionDenied
from kernel.models import SoftDeleteQuerySet
from kernel.statements import Statement


def _role_filter(prefix: str, user, role: str | None) -> models.Q:
    query = models.Q(**{f"{prefix}memberships__user": user})
    if role:
        allowed = [name for name, rank in ROLE_RANK.items() if rank >= ROLE_RANK[role]]
        query &= models.Q(**{f"{prefix}memberships__role__in": allowed})
    return query


class ScopedQuerySet(models.QuerySet):
    """For models with a ``project`` foreign key that are never soft-deleted (runs, logs)."""

    def for_user(self, user, role: str | None = None):
        # No DISTINCT: a user has one membership per project (membership_unique_user), so the
        # join cannot repeat a row. DISTINCT over every column (JSON ones included) cost every
        # scoped read a sort of its rows and the ORM a longer compile (docs/load.md).
        if not user or not user.is_authenticated:
            return self.none()
        if user.is_superuser:
            return self
        return self.filter(_role_filter("project__", user, role))


class ProjectScopedQuerySet(SoftDeleteQuerySet, ScopedQuerySet):
    """For soft-deletable models with a ``project`` foreign key.

    Use ``LiveManager.from_queryset(ProjectScopedQuerySet)()`` for a manager that hides
    deleted rows and scopes with ``for_user``.
    """


def membership_of(user, project: Project) -> Membership | None:
    if not user or not user.is_authenticated:
        return None
    # Not Membership's default ordering, which joins the users to sort by name: there is one row.
    return Membership.objects.filter(user=user, project=project).order_by().first()


# The membership with its live project (one per project and user: membership_unique_user),
# compiled once (kernel/statements.py): every project-scoped request starts with it.
_MEMBERSHIP = Statement(
    Membership,
    lambda shape, user_id, project_id: Membership.objects.select_related("project")
    .filter(user_id=user_id, project_id=project_id, project__deleted_at__isnull=True)
    .order_by(),
    user_id=int,
    project_id=str,
)


def project_for_user(user, project_id: str, *, role: str = Role.VIEWER) -> Project:
    """The project if the user is a member (else 404), and has ``role`` or better (else 403).

    One query, the membership with its live project, as every project-scoped request starts
    with it (the 004 paths, new tasks): not the project, then the membership.
    """
    if user and user.is_authenticated and user.is_superuser:
        return get_object_or_404(Project.objects.all(), pk=project_id)
    if not user or not user.is_authenticated:
        raise Http404(f"project {project_id} not found")
    try:
        membership = _MEMBERSHIP.first(user_id=user.pk, project_id=project_id)
    except ValueError:
        membership = None
    if membership is None:
        raise Http404(f"project {project_id} not found")
    if not membership.allows(role):
        raise PermissionDenied(f"this needs the {role} role in project {project_id}")
    return membership.project


def role_for_method(method: str) -> str:
    """Viewers read; editors change."""
    return Role.VIEWER if method in ("GET", "HEAD", "OPTIONS") else Role.EDITOR
