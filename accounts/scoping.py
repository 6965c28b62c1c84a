"""Tenant scoping: every API queryset starts from ``for_user`` and answers 404 outside it."""

from django.db import models
from django.shortcuts import get_object_or_404

from accounts.models import ROLE_RANK, Membership, Project, Role
from kernel.errors import PermissionDenied
from kernel.models import SoftDeleteQuerySet


def _role_filter(prefix: str, user, role: str | None) -> models.Q:
    query = models.Q(**{f"{prefix}memberships__user": user})
    if role:
        allowed = [name for name, rank in ROLE_RANK.items() if rank >= ROLE_RANK[role]]
        query &= models.Q(**{f"{prefix}memberships__role__in": allowed})
    return query


class ScopedQuerySet(models.QuerySet):
    """For models with a ``project`` foreign key that are never soft-deleted (runs, logs)."""

    def for_user(self, user, role: str | None = None):
        if not user or not user.is_authenticated:
            return self.none()
        if user.is_superuser:
            return self
        return self.filter(_role_filter("project__", user, role)).distinct()


class ProjectScopedQuerySet(SoftDeleteQuerySet, ScopedQuerySet):
    """For soft-deletable models with a ``project`` foreign key.

    Use ``LiveManager.from_queryset(ProjectScopedQuerySet)()`` for a manager that hides
    deleted rows and scopes with ``for_user``.
    """


def membership_of(user, project: Project) -> Membership | None:
    if not user or not user.is_authenticated:
        return None
    return Membership.objects.filter(user=user, project=project).first()


def project_for_user(user, project_id: str, *, role: str = Role.VIEWER) -> Project:
    """The project if the user is a member (else 404), and has ``role`` or better (else 403)."""
    project = get_object_or_404(Project.objects.for_user(user), pk=project_id)
    if user.is_superuser:
        return project
    membership = membership_of(user, project)
    if membership is None or not membership.allows(role):
        raise PermissionDenied(f"this needs the {role} role in project {project.id}")
    return project


def role_for_method(method: str) -> str:
    """Viewers read; editors change."""
    return Role.VIEWER if method in ("GET", "HEAD", "OPTIONS") else Role.EDITOR
