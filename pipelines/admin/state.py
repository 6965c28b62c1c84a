"""Admin of where syncs stand: stream cursors, CDC replication slots, chunked loads and their chunks."""

from django.contrib import admin, messages
from django.db.models import Count, Q, Sum

from kernel.errors import DomainError
from pipelines import chunked, services
from pipelines.models import ChangeCapture, ChunkedLoad, LoadChunk, StreamState


@admin.register(StreamState)
class StreamStateAdmin(admin.ModelAdmin):
    """Where each incremental stream stands; staff reset a stream to have it synced from scratch."""

    list_display = ["job", "stream", "cursor_field", "cursor_value", "generation", "updated_at"]
    list_filter = ["job__project", "updated_at"]
    list_select_related = ["job"]
    search_fields = ["stream", "cursor_field", "job__name", "job__project__id"]
    raw_id_fields = ["job"]
    readonly_fields = ["job", "stream", "cursor_field", "cursor_value", "generation", "updated_at"]
    actions = ["reset_selected"]

    def has_add_permission(self, request):
        return False  # state is written by syncs only

    @admin.action(description="Reset selected streams (the next run reads them from the start)")
    def reset_selected(self, request, queryset):
        try:
            count = services.stream_states_reset(states=queryset)
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return
        self.message_user(request, f"Reset {count} stream(s).", messages.SUCCESS)


@admin.register(ChangeCapture)
class ChangeCaptureAdmin(admin.ModelAdmin):
    """Each CDC job's replication slot and the position published through; staff drop a slot a job no longer needs."""

    list_display = ["job", "slot_name", "position_shown", "job_deleted", "created_at", "updated_at"]
    list_filter = ["job__project", "job__source__type", "updated_at"]
    list_select_related = ["job", "job__source"]
    search_fields = ["slot_name", "job__name", "job__project__id"]
    readonly_fields = ["job", "slot_name", "position_shown", "created_at", "updated_at"]
    exclude = ["position"]
    actions = ["drop_slots"]

    def get_queryset(self, request):
        return ChangeCapture.objects.select_related("job", "job__source")

    def has_add_permission(self, request):
        return False  # a CDC job's first run creates its slot

    @admin.display(description="position (LSN)", ordering="position")
    def position_shown(self, capture):
        return capture.position_lsn

    @admin.display(description="job deleted", boolean=True)
    def job_deleted(self, capture):
        return capture.job.is_deleted

    @admin.action(description="Drop the replication slots (the job's next CDC run loads its streams again)")
    def drop_slots(self, request, queryset):
        dropped = sum(services.job_capture_stop(job=capture.job) for capture in queryset)
        left = queryset.all().count()  # a fresh count: the loop above cached the rows it read
        level = messages.SUCCESS if not left else messages.WARNING
        self.message_user(request, f"Dropped {dropped} slot(s)" + (f"; {left} could not be dropped, see the log." if left else "."), level)


class LoadChunkInline(admin.TabularInline):
    model = LoadChunk
    extra = 0
    can_delete = False
    fields = ["index", "bounds", "done", "rows", "bytes", "loaded_by", "finished_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(ChunkedLoad)
class ChunkedLoadAdmin(admin.ModelAdmin):
    """Big full loads in progress (or cut short): how many chunks are done, and who is reading them."""

    list_display = ["__str__", "job", "task", "chunks_done", "rows_loaded", "reading", "created_at", "updated_at"]
    list_filter = ["job__project", "created_at"]
    list_select_related = ["job", "task"]
    search_fields = ["stream", "job__name", "job__project__id"]
    readonly_fields = ["job", "task", "stream", "stream_spec", "generation", "parts_key", "reading", "created_at", "updated_at"]
    exclude = ["snapshot"]
    inlines = [LoadChunkInline]
    actions = ["discard_loads"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            done_count=Count("chunks", filter=Q(chunks__done=True)), chunk_count=Count("chunks"), loaded_rows=Sum("chunks__rows")
        )

    def has_add_permission(self, request):
        return False  # a run plans its load

    @admin.display(description="chunks done", ordering="done_count")
    def chunks_done(self, load):
        return f"{load.done_count} / {load.chunk_count}"

    @admin.display(description="rows loaded", ordering="loaded_rows")
    def rows_loaded(self, load):
        return f"{load.loaded_rows or 0:,}"

    @admin.display(description="being read", boolean=True)
    def reading(self, load):
        return bool(load.snapshot)

    @admin.action(description="Discard the loads and their parts (the stream's next run loads it from the start)")
    def discard_loads(self, request, queryset):
        busy = queryset.exclude(snapshot="").count()
        discarded = sum(chunked.discard_load(load) for load in queryset.filter(snapshot=""))
        message = f"Discarded {discarded} load(s)" + (f"; {busy} being read now were left alone." if busy else ".")
        self.message_user(request, message, messages.WARNING if busy else messages.SUCCESS)


@admin.register(LoadChunk)
class LoadChunkAdmin(admin.ModelAdmin):
    list_display = ["__str__", "load", "index", "done", "rows", "bytes", "loaded_by", "finished_at"]
    list_filter = ["done", "finished_at"]
    list_select_related = ["load"]
    search_fields = ["load__stream", "load__job__name", "loaded_by"]
    readonly_fields = ["load", "index", "bounds", "done", "rows", "bytes", "cursor_max", "loaded_by", "finished_at"]

    def has_add_permission(self, request):
        return False
