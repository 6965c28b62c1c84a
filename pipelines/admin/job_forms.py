"""A job's admin form: its streams as a table merged from discovery, checked and saved by the job services, clears confirmed first."""

import copy

from django import forms

from kernel.errors import DomainError
from pipelines import catalog, clearing, services, streams_diff
from pipelines.models import Job
from pipelines.schedules import frequency_to_cron

WRITE_CHOICES = [("upsert", "upsert by primary key"), ("append", "append")]


class StreamRowForm(forms.Form):
    """One stream: select it, how it syncs and where it lands; the choices offered are the stream's own."""

    key = forms.CharField(widget=forms.HiddenInput)
    selected = forms.BooleanField(required=False)
    sync_mode = forms.ChoiceField()
    cursor_field = forms.ChoiceField(required=False)
    primary_key = forms.CharField(required=False, help_text="columns, comma-separated")
    destination_name = forms.CharField(required=False, max_length=400)
    write = forms.ChoiceField(choices=WRITE_CHOICES)

    def __init__(self, *args, stream: dict, **kwargs):
        super().__init__(*args, **kwargs)
        self.stream = stream
        self.fields["sync_mode"].choices = [(m, m) for m in stream.get("supported_sync_modes") or catalog.SYNC_MODES[:2]]
        self.fields["cursor_field"].choices = [("", "—"), *((c, c) for c in stream.get("available_cursor_fields") or [])]

    def choice(self) -> dict:
        """The stream with this row's choices, as a streams_config entry (what the API's job update takes)."""
        data = self.cleaned_data
        entry = copy.deepcopy(self.stream)
        entry.update(
            selected=data["selected"],
            sync_mode=data["sync_mode"],
            cursor_field=data["cursor_field"] or None,
            primary_key=[c.strip() for c in data["primary_key"].split(",") if c.strip()],
            destination_name=data["destination_name"].strip() or self.stream["name"],
            append_mode=data["write"] == "append",
        )
        return entry


def row_initial(stream: dict) -> dict:
    return {
        "key": catalog.stream_key(stream),
        "selected": stream.get("selected", True),
        "sync_mode": stream.get("sync_mode") or "full_refresh",
        "cursor_field": stream.get("cursor_field") or "",
        "primary_key": ", ".join(stream.get("primary_key") or stream.get("source_defined_primary_key") or []),
        "destination_name": stream.get("destination_name") or stream["name"],
        "write": "append" if stream.get("append_mode") else "upsert",
    }


class BaseStreamFormSet(forms.BaseFormSet):
    def __init__(self, *args, streams: list[dict], **kwargs):
        self.streams = streams
        super().__init__(*args, initial=[row_initial(s) for s in streams], **kwargs)

    def get_form_kwargs(self, index):
        # A posted table longer than the discovery (the source lost a table meanwhile) gets rows that fail the key check.
        return {"stream": self.streams[index] if index < len(self.streams) else {"name": ""}}


StreamFormSet = forms.formset_factory(StreamRowForm, formset=BaseStreamFormSet, extra=0, max_num=10_000, validate_max=False)


def discovered_streams(job: Job) -> tuple[list[dict], str]:
    """The source's streams merged with the job's saved choices; the saved ones alone, with why, when the source cannot be read."""
    source = job.source
    try:
        found = services.source_discover(
            type=source.type, version=source.version, config=source.config, saved_catalog=job.streams_config,
            project_id=job.project_id,
        )
    except DomainError as exc:
        return catalog.normalize(job.streams_config), exc.message
    return found["streams"], ""


class JobForm(forms.ModelForm):
    """Name, connectors, schedule and its streams table (once the source is known). ``save_through_services`` writes."""

    class Meta:
        model = Job
        fields = ["project", "name", "source", "destination", "frequency", "activate"]
        help_texts = {"frequency": "cron (0 * * * *), @hourly-style, or N-minutes|hours|days; empty: on demand only"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.streams, self.discovery_error, self.clear_keys = None, "", []
        self.new_streams_config, self.difference = None, None
        if self.instance.pk:
            streams, self.discovery_error = discovered_streams(self.instance)
            self.streams = StreamFormSet(self.data or None, streams=streams, prefix="streams")
        elif (source := self.source_to_add()) is not None:
            try:
                found = services.source_discover(
                    type=source.type, version=source.version, config=source.config, project_id=source.project_id
                )
            except DomainError as exc:
                self.discovery_error = exc.message  # said at the source field when the form is checked
            else:
                self.streams = StreamFormSet(self.data or None, streams=found["streams"], prefix="streams")

    def source_to_add(self):
        """A new job's source, once chosen (posted, or ?source= in the add page's address), among those the field offers."""
        ref = self.data.get("source") if self.is_bound else self.initial.get("source")
        if not ref or not str(ref).isdigit():
            return None
        return self.fields["source"].queryset.filter(pk=int(ref)).first()

    def clean_frequency(self):
        frequency = self.cleaned_data["frequency"].strip()
        if frequency:
            try:
                frequency_to_cron(frequency)
            except DomainError as exc:
                raise forms.ValidationError(exc.message) from exc
        return frequency

    def clean(self):
        cleaned = super().clean()
        project = cleaned.get("project") or getattr(self.instance, "project", None)
        name = cleaned.get("name")
        if project is not None and name and not services.name_is_free(
            Job, project, name, exclude=self.instance if self.instance.pk else None
        ):
            self.add_error("name", services.name_taken(Job, project, name).message)
        for field in ("source", "destination"):
            connector = cleaned.get(field)
            if connector is not None and project is not None and connector.project_id != project.pk:
                self.add_error(field, f"{field} {connector.name!r} belongs to project {connector.project_id}, not {project.pk}")
        if self.errors:
            return cleaned
        if not self.instance.pk:
            if self.discovery_error:  # job_create discovers the source: say here, at the field, that it cannot
                self.add_error("source", self.discovery_error)
            elif self.streams is not None and "streams-TOTAL_FORMS" in self.data:
                self.clean_streams()
            return cleaned  # without the table, job_create selects every stream, as the API does
        if cleaned["source"].pk != self.instance.source_id or "streams-TOTAL_FORMS" not in self.data:
            return cleaned  # a new source is discovered afresh by job_update; a form without the table keeps the streams
        self.clean_streams()
        return cleaned

    def clean_streams(self) -> None:
        if self.discovery_error:
            if self.streams.has_changed():
                self.add_error(None, f"the streams cannot be changed while the source cannot be read: {self.discovery_error}")
            return  # unchanged: the rest of the job saves, its streams stay as saved
        if not self.streams.is_valid():
            self.add_error(None, "correct the streams below")
            return
        if [row.cleaned_data["key"] for row in self.streams.forms] != [catalog.stream_key(s) for s in self.streams.streams]:
            self.add_error(None, "the source's streams changed since the page was loaded: review them and save again")
            return
        config = {"streams": [row.choice() for row in self.streams.forms]}
        try:
            catalog.validate(config, self.streams.streams)  # the check job_update makes, row by row here
        except DomainError as exc:
            for row in self.streams.forms:
                if f"'{row.cleaned_data['key']}'" in exc.message:
                    row.add_error(None, exc.message)  # shown on the stream's row too
            self.add_error(None, exc.message)
            return
        self.new_streams_config = config
        if not self.instance.pk:
            return  # a new job has written nothing yet: nothing to clear
        self.difference = streams_diff.streams_difference(job=self.instance, updated_streams_config=config)
        self.clear_keys = streams_diff.difference_stream_keys(self.difference)
        if self.clear_keys and self.data.get("confirm_clear") != ",".join(self.clear_keys):
            self.add_error(None, f"Saving clears {len(self.clear_keys)} stream(s) in the destination: confirm below to save.")

    def save_through_services(self, user) -> Job:
        """Create, or update with the clears confirmed, through the services the API uses; the instance is never saved directly."""
        data = self.cleaned_data
        if not self.instance.pk:
            return services.job_create(
                project=data["project"], user=user, name=data["name"], source={"name": data["source"].name},
                destination={"name": data["destination"].name}, frequency=data["frequency"], activate=data["activate"],
                streams_config=self.new_streams_config,
            )
        fresh = Job.all_objects.get(pk=self.instance.pk)  # untouched by the form's construct_instance
        return clearing.job_update_with_clear(
            job=fresh, user=user, difference_streams=self.difference, name=data["name"],
            source={"name": data["source"].name}, destination={"name": data["destination"].name},
            frequency=data["frequency"], activate=data["activate"], streams_config=self.new_streams_config,
        )
