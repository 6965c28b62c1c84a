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
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

from accounts.models import Project, Role
from accounts.services import membership_set, project_create
from tests.conftest import PASSWORD
from tests.support.components import skip_not_provided
from tests.support.processes import ROOT, child_env, free_port, wait_for_port

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), pytest.mark.postgresql_only]

OLAKE_UI_COMMIT = "4309b9045f0eb18fbe6c1e5257351ddbbc681a5b"
CHROMIUM = "/usr/bin/chromium"
# The only requests the UI makes off the origin: OLake's documentation, in an iframe beside every connector form.
KNOWN_EXTERNAL = ("https://olake.io/docs/",)
STEP_TIMEOUT_MS = 15_000


def ui_dist() -> Path:
    named = os.environ.get("D2D_OLAKE_UI_DIST", "")
    if not named or not (Path(named) / "index.html").is_file():
        skip_not_provided(
            "D2D_OLAKE_UI_DIST does not name an OLake UI build (a folder with index.html). d2d does not ship or build "
            f"the UI: build datazip-inc/olake-ui's ui/ at {OLAKE_UI_COMMIT} as its README says, then set "
            "D2D_OLAKE_UI_DIST=/path/to/olake-ui/ui/dist"
        )
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/test-services (make test does)", pytrace=False)
    return Path(named).resolve()


@pytest.fixture
def scratch_source_db():
    """A real PostgreSQL database on loopback with two small tables for the UI's source."""
    name = f"d2d_ui_src_{os.getpid()}"
    with psycopg.connect(host="127.0.0.1", user="postgres", dbname="postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    with psycopg.connect(host="127.0.0.1", user="postgres", dbname=name, autocommit=True) as conn:
        conn.execute("CREATE TABLE customers (id int PRIMARY KEY, name text, updated_at timestamptz DEFAULT now())")
        conn.execute("INSERT INTO customers (id, name) SELECT g, 'customer ' || g FROM generate_series(1, 25) g")
        conn.execute("CREATE TABLE orders (id int PRIMARY KEY, customer_id int, total numeric(10, 2))")
        conn.execute("INSERT INTO orders SELECT g, 1 + g % 25, g * 1.5 FROM generate_series(1, 60) g")
    yield name
    with psycopg.connect(host="127.0.0.1", user="postgres", dbname="postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def ui_user(make_user):
    """A d2d user who edits project olake, the project the UI's hard-coded 123 stands for."""
    olake = Project.objects.filter(pk="olake").first() or project_create(project_id="olake", name="OLake")
    user = make_user("uiuser")
    membership_set(project=olake, user=user, role=Role.EDITOR)
    return user


@pytest.fixture
def d2d_server(tmp_path, cluster_factory):
    """uvicorn serving the UI build, unable to reach anything but loopback, plus a qcluster worker."""
    dist = ui_dist()
    port = free_port()
    env = child_env(D2D_OLAKE_UI_DIR=str(dist), ALLOWED_HOSTS="127.0.0.1", CORS_ALLOWED_ORIGINS=f"http://127.0.0.1:{port}")
    log_path = tmp_path / "d2d-web.log"
    log = open(log_path, "ab")
    web = subprocess.Popen(
        [sys.executable, "-m", "tests.fuzz.loopback_server", "d2d.asgi:application", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    cluster = cluster_factory()
    try:
        wait_for_port(port, timeout=60, process=web)
        yield f"http://127.0.0.1:{port}", log_path, cluster
    finally:
        web.terminate()
        try:
            web.wait(timeout=10)
        except subprocess.TimeoutExpired:
            web.kill()


class Journey:
    """The browser session: runs named steps, screenshots each, records the API traffic and what failed."""

    def __init__(self, page, shots: Path):
        self.page, self.shots = page, shots
        self.traffic: list[dict] = []
        self.blocked: list[str] = []
        self.failures: list[str] = []
        self.count = 0

    def record(self, response) -> None:
        request = response.request
        path = urlsplit(request.url).path
        if path.startswith("/assets/") or request.resource_type == "document":
            return
        try:
            body = response.text()[:1500]
        except Exception as exc:  # noqa: BLE001 - a body the browser dropped (a download, a redirect) is noted, not fatal
            body = f"<unavailable: {exc}>"
        self.traffic.append({
            "method": request.method, "url": request.url, "sent": (request.post_data or "")[:1500],
            "status": response.status, "answer": body, "step": self.count,
        })

    def step(self, name: str, action) -> bool:
        self.count += 1
        started = len(self.traffic)
        try:
            action()
            ok = True
        except Exception as exc:  # noqa: BLE001 - every step runs; the report names each failure and its traffic
            calls = "\n".join(
                f"    {t['method']} {t['url']} sent={t['sent'][:300]!r} -> {t['status']} {t['answer'][:300]!r}" for t in self.traffic[started:]
            )
            self.failures.append(f"step {self.count} ({name}): {type(exc).__name__}: {str(exc)[:600]}\n{calls}")
            ok = False
        try:
            self.page.screenshot(path=str(self.shots / f"{self.count:02d}-{name.replace(' ', '-')}.png"), full_page=True)
        except Exception:  # noqa: BLE001 - a missing screenshot must not hide the step's own result
            pass
        return ok


def test_it_runs_the_olake_ui_against_d2d_from_sign_in_to_sign_out(d2d_server, ui_user, scratch_source_db, tmp_path):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import expect, sync_playwright

    base, web_log, cluster = d2d_server
    shots = Path(os.environ.get("D2D_E2E_SCREENSHOTS") or tmp_path / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    print(f"\nOLake UI screenshots: {shots}")
    destination_folder = f"olake-ui-e2e/{os.getpid()}"
    state: dict = {}

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"])
        context = browser.new_context(base_url=base, accept_downloads=True, viewport={"width": 1440, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(STEP_TIMEOUT_MS)
        journey = Journey(page, shots)

        def guard(route):
            if urlsplit(route.request.url).hostname == "127.0.0.1":
                route.continue_()
            else:
                journey.blocked.append(route.request.url)
                route.abort()

        context.route("**/*", guard)
        page.on("response", journey.record)

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
        context.close()
        browser.close()

    (shots / "traffic.json").write_text(json.dumps(journey.traffic, indent=1))
    unexpected = [url for url in journey.blocked if not url.startswith(KNOWN_EXTERNAL)]
    assert not unexpected, f"the UI tried to leave loopback: {unexpected}"
    assert not journey.failures, (
        "\n".join(journey.failures) + f"\n(screenshots and traffic.json in {shots}; d2d log {web_log})\n"
        + web_log.read_text(errors="replace")[-3000:] + cluster.log_text()[-2000:]
    )
