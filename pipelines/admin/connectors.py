"""Admin of sources and destinations: configs as generated forms, Test connection and Discover streams, all through the connector services."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from kernel.admin import SoftDeleteAdmin
from kernel.history import HistoryAdmin
from kernel.errors import DomainError
from pipelines import catalog, services
from pipelines.admin.connector_forms import ConnectorForm, kind_of, type_choices
from pipelines.connectors import DESTINATION_TYPES, SOURCE_TYPES
from pipelines.models import Destination, Source

SHOWN_STREAMS = 500  # a discovery's table on the page; the count says how many more there are


class ConnectorAdmin(HistoryAdmin, SoftDeleteAdmin):
    history_list_display = ["config_changes"]  # key names only: the config itself is not in the history
    form = ConnectorForm
    change_form_template = "admin/pipelines/connector_change_form.html"
    list_display = ["name", "type", "version", "project", "job_count", "updated_at", "deleted_at"]
    list_filter = ["type", "version"]
    list_select_related = ["project"]
    search_fields = ["name", "type", "project__id", "project__name"]
    raw_id_fields = ["project"]
    readonly_fields = ["created_at", "created_by", "updated_at", "updated_by"]

    @property
    def kind(self) -> str:
        return kind_of(self.model)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(live_jobs=Count("jobs", filter=Q(jobs__deleted_at__isnull=True)))

    @admin.display(description="jobs", ordering="live_jobs")
    def job_count(self, obj):
        return obj.live_jobs

    def get_readonly_fields(self, request, obj=None):
        # connector_update moves no connector between projects, so the form does not offer it.
        return [*self.readonly_fields, "project"] if obj is not None else self.readonly_fields

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        return fields if obj is not None else [f for f in fields if f not in self.readonly_fields]  # nothing to show yet

    def chosen_type(self, request, obj=None) -> str:
        """The type whose spec the config form is made of: the one being posted, asked for, or stored."""
        registry = SOURCE_TYPES if self.kind == "source" else DESTINATION_TYPES
        chosen = request.POST.get("type") or request.GET.get("type") or (obj.type if obj else "")
        return chosen if chosen in registry else ""

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        version = request.POST.get("version") or request.GET.get("version") or (obj.version if obj else "latest")
        return type(form.__name__, (form,), {"connector_type": self.chosen_type(request, obj), "connector_version": version})

    def add_view(self, request, form_url="", extra_context=None):
        """A config form needs its type first: without one, the page asks for it."""
        if not self.chosen_type(request):
            if not self.has_add_permission(request):
                raise PermissionDenied
            query = request.GET.copy()
            for name in ("type", "version"):
                query.pop(name, None)
            context = {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": f"Add {self.model._meta.verbose_name}: choose its type",
                "types": type_choices(self.kind),
                "query": query.urlencode(),
            }
            return TemplateResponse(request, "admin/pipelines/connector_choose_type.html", context)
        return super().add_view(request, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        saved = form.save_through_services(request.user)
        obj.__dict__.update(saved.__dict__)  # the admin logs the change and redirects with obj

    def save_related(self, request, form, formsets, change):
        pass  # no relations of its own: the services saved everything

    def delete_model(self, request, obj):
        try:
            services.connector_delete(obj=obj, user=request.user)
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)

    @admin.action(description="Delete selected (soft: can be restored)")
    def soft_delete_selected(self, request, queryset):
        for obj in queryset.filter(deleted_at__isnull=True):
            self.delete_model(request, obj)

    # --- buttons on the change page ---------------------------------------------------------

    def get_urls(self):
        info = self.model._meta.app_label, self.model._meta.model_name
        return [
            path("<path:object_id>/test-connection/", self.admin_site.admin_view(self.test_connection_view),
                 name="%s_%s_test_connection" % info),
            path("<path:object_id>/discover/", self.admin_site.admin_view(self.discover_view), name="%s_%s_discover" % info),
            *super().get_urls(),
        ]

    def button_target(self, request, object_id):
        if request.method != "POST":
            raise Http404("use the button on the change page")
        obj = self.get_object(request, object_id)
        if obj is None or obj.is_deleted:
            raise Http404(f"no live {self.model._meta.verbose_name} {object_id}")
        if not self.has_change_permission(request, obj):
            raise PermissionDenied
        return obj

    def change_page(self, obj):
        return redirect(reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk]))

    def test_connection_view(self, request, object_id):
        """The API's connection test of the saved config; its result and log lines wait in the session for the page."""
        obj = self.button_target(request, object_id)
        report = services.connector_test_report(
            kind=self.kind, type=obj.type, version=obj.version, config=obj.config, project_id=obj.project_id
        )
        result = report["connection_result"]
        request.session[self.session_key("test", obj)] = {
            "status": result["status"],
            "message": result["message"],
            "logs": [{**line, "time": line["time"].isoformat(timespec="seconds")} for line in report["logs"]],
        }
        level = messages.SUCCESS if result["status"] == "SUCCEEDED" else messages.ERROR
        self.message_user(request, f"Connection test {result['status'].lower()}: {result['message']}", level)
        return self.change_page(obj)

    def discover_view(self, request, object_id):
        """The API's discovery of a saved source: the streams it offers, shown on its page."""
        obj = self.button_target(request, object_id)
        if self.kind != "source":
            raise Http404("only sources discover streams")
        try:
            found = services.source_discover(type=obj.type, version=obj.version, config=obj.config, project_id=obj.project_id)
        except DomainError as exc:
            request.session[self.session_key("discover", obj)] = {"error": exc.message}
            self.message_user(request, exc.message, messages.ERROR)
            return self.change_page(obj)
        streams = found["streams"]
        request.session[self.session_key("discover", obj)] = {
            "count": len(streams),
            "streams": [
                {
                    "key": catalog.stream_key(stream),
                    "columns": len(stream.get("json_schema", {}).get("properties", {})),
                    "modes": ", ".join(stream.get("supported_sync_modes") or catalog.SYNC_MODES[:2]),
                    "primary_key": ", ".join(stream.get("source_defined_primary_key") or []),
                    "cursor_fields": ", ".join(stream.get("available_cursor_fields") or []),
                }
                for stream in streams[:SHOWN_STREAMS]
            ],
        }
        self.message_user(request, f"{len(streams)} stream(s) discovered.", messages.SUCCESS)
        return self.change_page(obj)

    def session_key(self, what: str, obj) -> str:
        return f"pipelines-admin-{what}-{self.kind}-{obj.pk}"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        if request.method == "GET":
            obj = self.get_object(request, object_id)
            if obj is not None:
                extra_context["test_result"] = request.session.pop(self.session_key("test", obj), None)
                extra_context["discovery"] = request.session.pop(self.session_key("discover", obj), None)
        extra_context["can_discover"] = self.kind == "source"
        return super().change_view(request, object_id, form_url, extra_context)


admin.site.register(Source, ConnectorAdmin)
admin.site.register(Destination, ConnectorAdmin)
