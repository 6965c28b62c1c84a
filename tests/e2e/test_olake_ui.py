"""The unmodified OLake web UI, in Debian's chromium, against a real d2d: sign in, source, destination, job, runs, logs, and out.

The UI build is not d2d's: this test uses the one named by D2D_OLAKE_UI_DIST (olake-ui's ui/dist,
built as that project's README says) and skips without it. d2d runs under uvicorn with a
qcluster worker on the test database, in a process that cannot resolve anything but loopback,
and the browser may load nothing but 127.0.0.1: every other request is aborted and recorded.
Each step leaves a screenshot; a failing step records the requests the UI made and what it
got, and the next steps still run, so one run shows every gap at once.
"""

import json
import os
import time
from urllib.parse import urlsplit

import pytest

from tests.conftest import PASSWORD
from tests.e2e.olake_ui import assert_journey, browser_journey, screenshots_folder

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), pytest.mark.postgresql_only]


def test_it_runs_the_olake_ui_against_d2d_from_sign_in_to_sign_out(d2d_server, ui_user, scratch_source_db, tmp_path):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import expect

    base, web_log, cluster = d2d_server
    shots = screenshots_folder(tmp_path)
    destination_folder = f"olake-ui-e2e/{os.getpid()}"
    state: dict = {}

    with browser_journey(base, shots) as (page, journey):
        def sign_in():
            page.goto("/login")
            page.get_by_placeholder("Username").fill("uiuser")
            page.get_by_placeholder("Password").fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()
            page.wait_for_url("**/jobs")
            expect(page.get_by_test_id("create-job-button")).to_be_visible()

        def create_source():
            page.goto("/sources/new")
            page.get_by_test_id("source-connector-select").click()
            page.get_by_test_id("connector-option-postgres").click()
            page.get_by_placeholder("Enter the name of your source").fill("ui_pg")
            page.locator("#root_host").fill("127.0.0.1")
            page.locator("#root_port").fill("5432")
            page.locator("#root_database").fill(scratch_source_db)
            page.locator("#root_username").fill("postgres")
            page.locator("#root_password").fill("pg-Secret-42")
            page.get_by_role("button", name="Create").click()
            expect(page.get_by_text("Source is connected and saved successfully")).to_be_visible()

        def create_destination():
            page.goto("/destinations/new")
            page.get_by_placeholder("Enter the name of your destination").fill("ui_parquet")
            page.locator("#root_path").fill(destination_folder)
            page.get_by_role("button", name="Create").click()
            expect(page.get_by_text("Destination is connected and saved successfully")).to_be_visible()

        def pick_option(text: str):
            page.locator(".ant-select-dropdown:visible .ant-select-item-option", has_text=text).first.click()

        def create_job():
            page.goto("/jobs/new")
            page.get_by_role("textbox").first.fill("ui_job")
            page.get_by_test_id("source-connector-select").click()
            page.get_by_test_id("connector-option-postgres").click()
            page.get_by_test_id("existing-source").click()
            pick_option("ui_pg")
            page.get_by_test_id("existing-destination").click()
            pick_option("ui_parquet")
            page.get_by_test_id("create-job-wizard-submit").click()  # Next: tests both connections, then discovers
            expect(page.get_by_role("button", name="customers")).to_be_visible(timeout=60_000)
            expect(page.get_by_role("button", name="orders")).to_be_visible()
            page.get_by_role("checkbox", name="Sync all").check()
            page.get_by_test_id("create-job-wizard-submit").click()  # Create Job
            expect(page.get_by_text("Your job is created successfully")).to_be_visible()
            page.get_by_role("button", name="Jobs →").click()
            page.wait_for_url("**/jobs")
            expect(job_row()).to_be_visible()

        def job_row():
            # The jobs page renders every tab's table; only the shown tab's row counts.
            return page.get_by_test_id("job-ui_job").locator("visible=true")

        def job_menu(item: str):
            page.goto("/jobs")
            job_row().click()
            page.get_by_text(item, exact=True).click()

        def sync_now():
            job_menu("Sync now")
            page.wait_for_url("**/jobs/*/history")
            state["job_id"] = urlsplit(page.url).path.split("/")[2]
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                if page.get_by_text("completed", exact=False).count() or page.get_by_text("Completed").count():
                    break
                time.sleep(2)
                page.get_by_test_id("refresh-tasks-button").click()
            expect(page.get_by_text("completed", exact=False).first).to_be_visible()

        def read_logs():
            page.get_by_role("button", name="View logs").first.click()
            page.wait_for_url("**/logs?file=*")
            expect(page.get_by_role("heading", name="Logs")).to_be_visible()
            expect(page.get_by_text("succeeded").first).to_be_visible()

        def download_logs():
            with page.expect_download() as download:
                page.get_by_role("button", name="Download Logs").click()
            saved = shots / (download.value.suggested_filename or "logs.tar.gz")
            download.value.save_as(saved)
            assert saved.stat().st_size > 0

        def edit_streams():
            job_menu("Edit Streams")
            page.wait_for_url("**/jobs/*/edit")
            orders = page.get_by_role("button", name="orders")
            expect(orders).to_be_visible(timeout=60_000)
            orders.get_by_role("checkbox").uncheck()
            page.get_by_role("button", name="Finish", exact=True).click()
            # The UI asks to confirm only when stream-difference names streams to clear; then it saves.
            confirm = page.get_by_role("button", name="Confirm and Finish")
            try:
                confirm.wait_for(timeout=3000)
                confirm.click()
            except PlaywrightTimeout:
                pass
            page.wait_for_url("**/jobs")
            saved = page.request.get(f"/api/v1/project/123/jobs/{state['job_id']}").json()["data"]
            selected = json.loads(saved["streams_config"])["selected_streams"]
            assert [s["stream_name"] for streams in selected.values() for s in streams] == ["customers"], selected

        def clear_destination():
            page.goto(f"/jobs/{state['job_id']}/settings")
            page.get_by_role("button", name="Clear Destination").click()
            page.get_by_role("button", name="Confirm").click()
            page.wait_for_url("**/jobs/*/history")
            # The clear is a run of its own: listed with job_type "clear" (server dialect: project 123), and it succeeds.
            tasks_url = f"/api/v1/project/123/jobs/{state['job_id']}/tasks"
            deadline = time.monotonic() + 60
            while True:
                clears = [t for t in page.request.get(tasks_url).json()["data"] if t["job_type"] == "clear"]
                if clears and clears[0]["status"] != "Running" or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            assert [t["status"] for t in clears] == ["Completed"], clears

        def pause_and_resume():
            job_menu("Pause job")
            page.get_by_role("tab", name="Inactive jobs").first.click()
            expect(job_row()).to_be_visible()
            job_row().click()
            page.get_by_text("Resume job", exact=True).click()
            page.get_by_role("tab", name="Active jobs").first.click()
            expect(job_row()).to_be_visible()

        def delete_job():
            job_menu("Delete")
            page.get_by_role("dialog").get_by_role("button", name="Delete").click()
            expect(job_row()).to_have_count(0)

        def sign_out():
            page.get_by_text("Logout").click()
            page.wait_for_url("**/login")
            expect(page.get_by_role("button", name="Log in")).to_be_visible()

        for name, action in [
            ("sign in", sign_in), ("create source", create_source), ("create destination", create_destination),
            ("create job", create_job), ("sync now", sync_now), ("read logs", read_logs), ("download logs", download_logs),
            ("edit streams", edit_streams), ("clear destination", clear_destination), ("pause and resume", pause_and_resume),
            ("delete job", delete_job), ("sign out", sign_out),
        ]:
            journey.step(name, action)
    assert_journey(journey, shots, web_log, cluster)
