"""Every connector type answers its versions through the OLake API: the registered ones theirs, the UI's others none."""

import pytest

from accounts.models import Project, Role
from accounts.services import membership_set
from pipelines.connectors import connector_types
from pipelines.services import OLAKE_ONLY_TYPES

# What olake-ui offers on its create pages (ui/src/utils/constants.ts at the commit d2d is tested against).
UI_SOURCES = ["mongodb", "postgres", "mysql", "oracle", "kafka", "s3", "db2", "mssql"]
UI_DESTINATIONS = ["iceberg", "parquet"]
PLURAL = {"source": "sources", "destination": "destinations"}


@pytest.fixture
def ui(api, alice):
    olake, _ = Project.objects.get_or_create(pk="olake", defaults={"name": "OLake"})
    membership_set(project=olake, user=alice, role=Role.VIEWER)
    return api(alice)


def versions(ui, kind: str, type_name: str) -> list[str]:
    response = ui.get(f"/api/v1/project/123/{PLURAL[kind]}/versions", {"type": type_name})
    assert response.status_code == 200, (kind, type_name, response.content)
    body = response.json()
    assert body["success"] is True
    return body["data"]["version"]


@pytest.mark.parametrize("kind", ["source", "destination"])
def test_it_answers_versions_for_every_registered_type(ui, kind):
    for type_name in connector_types(kind):
        answer = versions(ui, kind, type_name)
        assert answer, f"{kind} {type_name} is registered but answers no versions"
        assert "v1.0.0" in answer and "latest" not in answer


def test_it_never_lists_a_registered_type_among_the_ones_it_lacks():
    for kind in ("source", "destination"):
        assert not OLAKE_ONLY_TYPES[kind] & set(connector_types(kind)), kind


def test_it_answers_every_type_the_ui_offers(ui):
    for kind, offered in (("source", UI_SOURCES), ("destination", UI_DESTINATIONS)):
        for type_name in offered:
            answer = versions(ui, kind, type_name)
            if type_name in connector_types(kind):
                assert answer, f"the UI offers {kind} {type_name}, which d2d implements, but no version is listed"
            else:
                assert type_name in OLAKE_ONLY_TYPES[kind] and answer == [], (kind, type_name, answer)
