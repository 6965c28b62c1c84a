"""Connectors in the admin: configs as forms generated from the spec, saved and checked by the API's services; test and discover buttons."""

import html
import json
import re

import pytest

from pipelines.admin.connector_forms import form_schema
from pipelines.models import Destination, Source
from pipelines.secrets import blank_secrets, blank_secrets_as_mask, keep_masked_secrets
from pipelines.services import connector_create, job_create
from tests.pipelines.conftest import PG

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", "root@example.com", "pw-123456789"))
    return client


@pytest.fixture
def source(project_a, alice, pg):
    config, conn, schema = pg
    conn.execute("CREATE TABLE orders (id int PRIMARY KEY, updated_at timestamptz, total numeric(10,2))")
    conn.execute("CREATE TABLE customers (id int PRIMARY KEY, name text)")
    return connector_create(model=Source, project=project_a, user=alice, name="shop", type="postgres", version="latest", config=config)


def jsonform_config(page: str) -> dict:
    """The config django-jsonform's script renders the form from (schema, data, errors at fields)."""
    found = re.search(r'data-django-jsonform="([^"]*)"', page)
    assert found, "the config is a django-jsonform editor"
    return json.loads(html.unescape(found.group(1)))


def test_it_asks_for_the_type_first_then_renders_the_specs_form_with_its_assets_served(staff_client):
    choose = staff_client.get("/admin/pipelines/source/add/").content.decode()
    assert "?type=postgres" in choose and "?type=mysql" in choose and 'name="config"' not in choose

    page = staff_client.get("/admin/pipelines/source/add/?type=postgres").content.decode()
    widget = jsonform_config(page)
    properties = widget["schema"]["properties"]
    assert properties["password"]["format"] == "password" and "stored value is kept" in properties["password"]["help_text"]
    assert properties["sslmode"]["enum"][0] == "disable", "enums become selects"
    assert properties["schemas"]["type"] == "array", "arrays stay arrays"
    for asset in ("django_jsonform/react-json-form.js", "django_jsonform/index.js", "django_jsonform/style.css"):
        assert f"/static/{asset}" in page
        response = staff_client.get(f"/static/{asset}")
        assert response.status_code == 200, f"{asset} is served by the app, not fetched from elsewhere"

    parquet = jsonform_config(staff_client.get("/admin/pipelines/destination/add/?type=parquet").content.decode())
    assert parquet["schema"]["properties"]["compression"]["enum"] == ["snappy", "zstd", "gzip", "none"]


def test_it_creates_a_source_through_the_service_and_refuses_a_bad_config_at_its_field(staff_client, project_a, pg):
    config, _, schema = pg
    form = {"project": project_a.pk, "name": "shop", "type": "postgres", "version": "latest"}
    bad = staff_client.post("/admin/pipelines/source/add/?type=postgres", {**form, "config": json.dumps({**config, "port": 70000})})
    assert bad.status_code == 200
    errors = jsonform_config(bad.content.decode())["errorMap"]
    assert "port" in errors and "65535" in errors["port"][0], "the spec's own error, at the port field"
    assert PG["password"] not in bad.content.decode(), "a refused form does not send the typed secret back"
    assert not Source.all_objects.exists(), "nothing stored"

    missing = staff_client.post("/admin/pipelines/source/add/?type=postgres", {**form, "config": json.dumps({"port": 5432})})
    assert "host" in jsonform_config(missing.content.decode())["errorMap"], "a missing required field is flagged at itself"
    assert not Source.all_objects.exists()

    sent = {**config, "port": None}  # an emptied number input: the spec's default applies
    response = staff_client.post("/admin/pipelines/source/add/?type=postgres", {**form, "config": json.dumps(sent)})
    assert response.status_code == 302, response.content.decode()[-3000:]
    source = Source.objects.get(name="shop")
    assert source.config["port"] == 5432 and source.config["sslmode"] == "prefer", "the service filled in the spec's defaults"
    assert source.config["password"] == PG["password"] and source.created_by.username == "root"

    taken = staff_client.post("/admin/pipelines/source/add/?type=postgres", {**form, "config": json.dumps(config)})
    assert taken.status_code == 200 and "already exists" in taken.content.decode()
    assert Source.objects.count() == 1


def test_a_blank_secret_keeps_the_stored_one_and_is_never_shown(staff_client, source):
    page = staff_client.get(f"/admin/pipelines/source/{source.pk}/change/").content.decode()
    assert PG["password"] not in page
    data = jsonform_config(page)["data"]
    data = json.loads(data) if isinstance(data, str) else data
    assert data["password"] == "" and data["host"] == "127.0.0.1"

    form = {"name": "shop-renamed", "type": "postgres", "version": "latest", "config": json.dumps({**data, "port": 5432})}
    response = staff_client.post(f"/admin/pipelines/source/{source.pk}/change/", form)
    assert response.status_code == 302, response.content.decode()[-3000:]
    source = Source.objects.get(pk=source.pk)
    assert source.name == "shop-renamed" and source.config["password"] == PG["password"] and source.updated_by.username == "root"

    response = staff_client.post(
        f"/admin/pipelines/source/{source.pk}/change/", {**form, "config": json.dumps({**data, "password": "new-Secret-7"})}
    )
    assert response.status_code == 302
    assert Source.objects.get(pk=source.pk).config["password"] == "new-Secret-7"

    bad = staff_client.post(f"/admin/pipelines/source/{source.pk}/change/", {**form, "name": "other", "config": json.dumps({**data, "port": "x"})})
    assert "port" in jsonform_config(bad.content.decode())["errorMap"]
    unchanged = Source.objects.get(pk=source.pk)
    assert unchanged.name == "shop-renamed" and unchanged.config["port"] == 5432, "a refused save changes nothing"


def test_test_connection_shows_the_result_and_its_log_lines(staff_client, source, project_a, alice):
    page = staff_client.post(f"/admin/pipelines/source/{source.pk}/test-connection/", follow=True).content.decode()
    assert 'id="test-result"' in page and "SUCCEEDED" in page and "postgres connection succeeded" in page

    broken = connector_create(
        model=Source, project=project_a, user=alice, name="broken", type="postgres", version="latest",
        config={**source.config, "port": 1},  # nothing listens on loopback port 1
    )
    page = staff_client.post(f"/admin/pipelines/source/{broken.pk}/test-connection/", follow=True).content.decode()
    assert "Connection test: FAILED" in page and "cannot connect to PostgreSQL" in page
    assert PG["password"] not in page
    assert staff_client.get(f"/admin/pipelines/source/{source.pk}/test-connection/").status_code == 404, "POST only"


def test_a_destination_is_tested_through_the_same_service(staff_client, project_a, alice, folder):
    destination = connector_create(
        model=Destination, project=project_a, user=alice, name="lake", type="parquet", version="latest", config={"path": folder}
    )
    page = staff_client.post(f"/admin/pipelines/destination/{destination.pk}/test-connection/", follow=True).content.decode()
    assert "destination parquet connection succeeded" in page
    assert 'id="discover-streams"' not in page, "only sources discover"
    assert staff_client.post(f"/admin/pipelines/destination/{destination.pk}/discover/").status_code == 404


def test_discover_lists_the_sources_streams(staff_client, source, pg):
    _, _, schema = pg
    page = staff_client.post(f"/admin/pipelines/source/{source.pk}/discover/", follow=True).content.decode()
    assert "Discovered streams: 2" in page
    assert f"{schema}.orders" in page and f"{schema}.customers" in page
    assert "full_refresh, incremental" in page


def test_the_list_counts_live_jobs_and_a_connector_is_deleted_and_restored(staff_client, source, project_a, alice, folder):
    connector_create(model=Destination, project=project_a, user=alice, name="lake", type="parquet", version="latest", config={"path": folder})
    job_create(project=project_a, user=alice, name="j", source={"name": "shop"}, destination={"name": "lake"})
    listing = staff_client.get("/admin/pipelines/source/")
    assert [row.live_jobs for row in listing.context["cl"].result_list] == [1]

    idle = connector_create(model=Source, project=project_a, user=alice, name="idle", type="postgres", version="latest", config=source.config)
    act = {"action": "soft_delete_selected", "_selected_action": [idle.pk, source.pk]}
    page = staff_client.post("/admin/pipelines/source/", act, follow=True).content.decode()
    assert Source.all_objects.get(pk=idle.pk).is_deleted and not Source.all_objects.get(pk=source.pk).is_deleted
    assert "is used by job(s) j" in page, "connector_delete's refusal, as the API answers it"
    staff_client.post("/admin/pipelines/source/?deleted=deleted", {"action": "restore_selected", "_selected_action": [idle.pk]})
    assert not Source.all_objects.get(pk=idle.pk).is_deleted


def test_nested_secrets_are_password_inputs_blank_on_the_page_and_kept_when_left_blank():
    spec = {
        "type": "object",
        "properties": {
            "host": {"type": "string", "description": "where it listens"},
            "tunnel": {
                "type": "object",
                "properties": {"user": {"type": "string"}, "key": {"type": "string", "airbyte_secret": True}},
            },
            "replicas": {"type": "array", "items": {"type": "object", "properties": {"token": {"type": "string", "secret": True}}}},
        },
    }
    schema = form_schema(spec)
    assert schema["properties"]["host"]["help_text"] == "where it listens"
    assert schema["properties"]["tunnel"]["properties"]["key"]["format"] == "password"
    assert schema["properties"]["replicas"]["items"]["properties"]["token"]["format"] == "password"
    assert "format" not in spec["properties"]["tunnel"]["properties"]["key"], "the connector's spec is left as it is"

    stored = {"host": "db", "tunnel": {"user": "u", "key": "k-123"}}
    shown = blank_secrets(spec, stored)
    assert shown == {"host": "db", "tunnel": {"user": "u", "key": ""}}
    sent = {**shown, "host": "db2"}
    assert keep_masked_secrets(spec, blank_secrets_as_mask(spec, sent), stored) == {"host": "db2", "tunnel": {"user": "u", "key": "k-123"}}
    typed = {**shown, "tunnel": {"user": "u", "key": "k-456"}}
    assert keep_masked_secrets(spec, blank_secrets_as_mask(spec, typed), stored)["tunnel"]["key"] == "k-456"
