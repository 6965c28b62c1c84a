"""Staff who are not superusers see and change only their own projects' rows, in every admin of the site.

Django's model permissions say which kinds of objects a staff user may view, add, change or
delete; the project memberships say where: a viewer reads the project's rows, an editor changes
them (an owner, for the project itself and its memberships). Rows of other projects do not exist
for that user: lists leave them out, their pages answer "doesn't exist", foreign-key choices and
list filters offer only the user's projects, and actions skip rows the user may not change.
Admins whose model reaches no project (users, tokens, login attempts, the task queue) are for
superusers only.

``scope_admin_site`` (run once all admins are registered: accounts' AppConfig.ready) puts
``ProjectScopedAdminMixin`` in front of every registered admin, so an admin added later is
scoped without anyone remembering to. An admin class may say where its project is with
``project_path = "job__project"``, or ``project_path = None`` for superusers only.
"""

import dataclasses
import functools

from django.contrib import admin
from django.contrib.admin import RelatedOnlyFieldListFilter
from django.contrib.admin.options import ActionLocation
from django.contrib.admin.utils import NotRelationField, get_fields_from_path
from django.core.exceptions import FieldDoesNotExist

from accounts.models import ROLE_RANK, Membership, Project, Role

_UNSET = object()
MAX_HOPS = 3


@functools.lru_cache(maxsize=None)
def project_path(model) -> str | None:
    """The lookup from ``model`` to its project ("" for the project itself), following foreign keys; None if none."""
    if issubclass(model, Project):
        return ""
    level, seen = [(model, "")], {model}
    for _ in range(MAX_HOPS):
        following = []
        for current, prefix in level:
            for field in current._meta.get_fields():
                if not (field.many_to_one or field.one_to_one) or not field.concrete or field.related_model is None:
                    continue
                path = f"{prefix}{field.name}"
                if issubclass(field.related_model, Project):
                    return path
                if field.related_model not in seen:
                    seen.add(field.related_model)
                    following.append((field.related_model, f"{path}__"))
        level = following
    return None


def project_roles(request) -> dict[str, str]:
    """project id -> the request user's role there, read once per request."""
    roles = getattr(request, "_d2d_project_roles", None)
    if roles is None:
        roles = dict(Membership.objects.filter(user=request.user).values_list("project_id", "role"))
        request._d2d_project_roles = roles
    return roles


def project_ids(request, role: str = Role.VIEWER) -> list[str]:
    return [project for project, held in project_roles(request).items() if ROLE_RANK[held] >= ROLE_RANK[role]]


def restrict(queryset, path: str | None, ids: list[str]):
    if path is None:
        return queryset.none()
    return queryset.filter(**{f"{path}__in" if path else "pk__in": ids})


class ProjectScopedAdminMixin:
    """Rows, permissions, choices, filters and actions limited to the request user's projects."""

    project_path: str | None = None
    project_write_role: str = Role.EDITOR

    @staticmethod
    def _unscoped(request) -> bool:
        return request.user.is_active and request.user.is_superuser

    def _project_of(self, obj) -> str | None:
        if self.project_path == "":
            return obj.pk
        *hops, last = self.project_path.split("__")
        for hop in hops:
            obj = getattr(obj, hop)
            if obj is None:
                return None
        return getattr(obj, obj._meta.get_field(last).attname)

    def _allows(self, request, obj, role: str) -> bool:
        if self.project_path is None:
            return False
        allowed = project_ids(request, role)
        return bool(allowed) if obj is None else self._project_of(obj) in allowed

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if self._unscoped(request):
            return queryset
        return restrict(queryset, self.project_path, project_ids(request))

    def has_module_permission(self, request):
        if not self._unscoped(request) and self.project_path is None:
            return False
        return super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        allowed = super().has_view_permission(request, obj)
        if not allowed or self._unscoped(request):
            return allowed
        return self._allows(request, obj, Role.VIEWER)

    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj)
        if not allowed or self._unscoped(request):
            return allowed
        return self._allows(request, obj, self.project_write_role)

    def has_delete_permission(self, request, obj=None):
        allowed = super().has_delete_permission(request, obj)
        if not allowed or self._unscoped(request):
            return allowed
        return self._allows(request, obj, self.project_write_role)

    def has_add_permission(self, request, *args, **kwargs):
        allowed = super().has_add_permission(request, *args, **kwargs)
        if not allowed or self._unscoped(request):
            return allowed
        # A new project would have no member to own it: superusers create projects.
        return self.project_path != "" and self._allows(request, None, self.project_write_role)

    def _choices(self, db_field, request, queryset):
        """A relation's choices: rows of the projects where the user may write this admin's rows (an
        editor of a project cannot choose it for a membership, which needs its owner)."""
        if self._unscoped(request):
            return queryset
        path = project_path(db_field.related_model)
        if path is None:
            return queryset
        if queryset is None:
            queryset = db_field.related_model._default_manager.all()
        return restrict(queryset, path, project_ids(request, self.project_write_role))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        queryset = kwargs.get("queryset")
        if queryset is None:
            queryset = self.get_field_queryset(kwargs.get("using"), db_field, request)
        queryset = self._choices(db_field, request, queryset)
        if queryset is not None:
            kwargs["queryset"] = queryset
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        queryset = kwargs.get("queryset")
        if queryset is None:
            queryset = self.get_field_queryset(kwargs.get("using"), db_field, request)
        queryset = self._choices(db_field, request, queryset)
        if queryset is not None:
            kwargs["queryset"] = queryset
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def get_list_filter(self, request):
        filters = super().get_list_filter(request)
        if self._unscoped(request):
            return filters
        # A relation's filter lists every row of the related table (other projects' names
        # included); offer only the values present in the rows this user sees.
        return [self._related_only(entry) for entry in filters]

    def _related_only(self, entry):
        if not isinstance(entry, str):
            return entry
        try:
            field = get_fields_from_path(self.model, entry)[-1]
        except (FieldDoesNotExist, NotRelationField):
            return entry
        return (entry, RelatedOnlyFieldListFilter) if field.is_relation else entry

    def get_actions(self, request, action_location=ActionLocation.CHANGE_LIST):
        actions = super().get_actions(request, action_location=action_location)
        if self._unscoped(request):
            return actions
        return {name: dataclasses.replace(action, func=self._on_writable_rows(action.func)) for name, action in actions.items()}

    def _on_writable_rows(self, func):
        """An action applied only to the selected rows of projects where the user may write."""
        path, role = self.project_path, self.project_write_role

        @functools.wraps(func)
        def action(modeladmin, request, queryset):
            return func(modeladmin, request, restrict(queryset, path, project_ids(request, role)))

        return action


def scope_admin_site(site=admin.site) -> None:
    """Put ProjectScopedAdminMixin in front of every admin registered on ``site`` (once)."""
    for model, model_admin in list(site._registry.items()):
        if isinstance(model_admin, ProjectScopedAdminMixin):
            continue
        cls = type(model_admin)
        attrs = {"__module__": cls.__module__, "__doc__": cls.__doc__}
        if getattr(cls, "project_path", _UNSET) is _UNSET:
            attrs["project_path"] = project_path(model)
        if not hasattr(cls, "project_write_role") and model in (Project, Membership):
            attrs["project_write_role"] = Role.OWNER
        scoped = type(cls.__name__, (ProjectScopedAdminMixin, cls), attrs)
        site._registry[model] = scoped(model, site)
