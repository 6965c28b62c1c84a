"""Findings of the schemathesis run (tests/fuzz) in labeling, kept as focused regressions."""

from tests.labeling.conftest import png_upload


def test_the_schema_documents_picture_files_in_their_own_type(api, alice, make_task):
    """A picture is served as image/png (or video/*, or an octet-stream attachment); the schema said
    application/json, which schemathesis reported as an undocumented Content-Type."""
    task = make_task()
    url = api(alice).post(f"/api/tasks/{task.pk}/pictures/", {"file": png_upload()}).json()["data"][0]
    served = api(alice).get(url)
    schema = api(alice).get("/api/v1/openapi.json").json()
    documented = schema["paths"]["/api/tasks/{task_id}/pictures/{picture_id}/{filename}"]["get"]["responses"]["200"]["content"]
    assert served.status_code == 200 and served["Content-Type"] == "image/png"
    assert {"image/*", "video/*", "application/octet-stream"} <= set(documented)
    assert "application/json" not in documented
