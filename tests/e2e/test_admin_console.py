"""The admin as a staff console, in Debian's chromium against a real d2d (uvicorn and a qcluster worker): source, destination, job and its streams, sync, a confirmed clear.

Every step leaves a screenshot under the test's tmp dir (or D2D_E2E_SCREENSHOTS). The browser may
load nothing but 127.0.0.1: every other request is aborted and recorded, and the test fails if
there was one, so the generated forms' assets are shown to come from d2d itself.
"""

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
from django.core.files.storage import storages
from django.db import connection

from accounts.services import project_create
from kernel.models import TaskStatus
from pipelines.models import Destination, Job, JobTask, Source
from tests.conftest import PASSWORD
from tests.support.processes import ROOT, child_env, free_port, wait_for_port

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), pytest.mark.postgresql_only]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
STEP_TIMEOUT_MS = 20_000


@pytest.fixture
def shop_db():
    """A real PostgreSQL database on loopback with three small tables, the source the staff user adds."""
    name = f"d2d_admin_src_{os.getpid()}"
    with psycopg.connect(host="127.0.0.1", user="postgres", dbname="postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    with psycopg.connect(host="127.0.0.1", user="postgres", dbname=name, autocommit=True) as conn:
        conn.execute("CREATE TABLE customers (id int PRIMARY KEY, name text)")
        conn.execute("INSERT INTO customers SELECT g, 'customer ' || g FROM generate_series(1, 25) g")
        # orders is a view that yields a row every ~80 ms (about 5 s in all), so the run page is watched while it runs;
        # its rows live in a schema the source does not read.
        conn.execute("CREATE SCHEMA raw")
        conn.execute("CREATE TABLE raw.orders (id int PRIMARY KEY, customer_id int, total numeric(10, 2))")
        conn.execute("INSERT INTO raw.orders SELECT g, 1 + g % 25, g * 1.5 FROM generate_series(1, 60) g")
        conn.execute("CREATE FUNCTION raw.slow(n int) RETURNS int LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.08); RETURN n; END $$")
        conn.execute("CREATE VIEW orders AS SELECT raw.slow(id) AS id, customer_id, total FROM raw.orders")
        conn.execute("CREATE TABLE audit (at timestamptz DEFAULT now(), note text)")
    yield name
    with psycopg.connect(host="127.0.0.1", user="postgres", dbname="postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def console(tmp_path, cluster_factory):
    """d2d under uvicorn, unable to resolve anything but loopback, plus a qcluster worker."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/test-services (make test does)", pytrace=False)
    port = free_port()
    log = open(tmp_path / "d2d-web.log", "ab")
    web = subprocess.Popen(
        [sys.executable, "-m", "tests.fuzz.loopback_server", "d2d.asgi:application", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning"],
        cwd=ROOT, env=child_env(ALLOWED_HOSTS="127.0.0.1"), stdout=log, stderr=subprocess.STDOUT,
    )
    cluster_factory()
    try:
        wait_for_port(port, timeout=60, process=web)
        yield f"http://127.0.0.1:{port}"
    finally:
        web.terminate()
        try:
            web.wait(timeout=10)
        except subprocess.TimeoutExpired:
            web.kill()


def wait_for(check, what: str, timeout: float = 120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_staff_user_runs_a_pipeline_from_the_admin(console, shop_db, django_user_model, tmp_path, monkeypatch):
    from playwright.sync_api import expect, sync_playwright

    # Playwright's sync API runs an event loop in this thread; the test's own ORM reads beside it are plain sync calls.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    project_create(project_id="shop", name="Shop")
    django_user_model.objects.create_superuser("staff", "staff@example.com", PASSWORD)
    shots = Path(os.environ.get("D2D_E2E_SCREENSHOTS") or tmp_path / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    print(f"\nadmin console screenshots: {shots}")
    folder = f"admin-e2e-{os.getpid()}"
    blocked: list[str] = []

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(base_url=console, viewport={"width": 1440, "height": 1000})

        def guard(route):
            if urlsplit(route.request.url).hostname == "127.0.0.1":
                route.continue_()
            else:
                blocked.append(route.request.url)
                route.abort()

        context.route("**/*", guard)
        page = context.new_page()
        page.set_default_timeout(STEP_TIMEOUT_MS)
        page.on("dialog", lambda dialog: dialog.accept())
        count = [0]

        def shot(name: str) -> None:
            count[0] += 1
            page.screenshot(path=str(shots / f"{count[0]:02d}-{name}.png"), full_page=True)

        page.goto("/admin/login/")
        page.fill("#id_username", "staff")
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        expect(page.locator("#user-tools")).to_contain_text("staff")
        shot("signed-in")

        # A PostgreSQL source through the form generated from its spec.
        page.goto("/admin/pipelines/source/add/")
        shot("source-type")
        page.get_by_role("link", name="PostgreSQL (postgres)").click()
        page.locator('input[name="rjf§host"]').wait_for()
        page.fill("#id_project", "shop")
        page.fill("#id_name", "shop-db")
        page.fill('input[name="rjf§host"]', "127.0.0.1")
        page.fill('input[name="rjf§database"]', shop_db)
        page.fill('input[name="rjf§username"]', "postgres")
        expect(page.locator('input[name="rjf§password"]')).to_have_attribute("type", "password")
        page.fill('input[name="rjf§password"]', "pg-Secret-42")
        page.fill('input[name="rjf§port"]', "70000")
        shot("source-form")
        page.click('input[name="_continue"]')
        expect(page.locator(".errornote")).to_be_visible()
        expect(page.locator("#content-main")).to_contain_text("65535")  # the spec's error, at the port
        shot("source-refused")
        assert not Source.objects.exists()
        page.fill('input[name="rjf§port"]', "5432")
        page.fill('input[name="rjf§password"]', "pg-Secret-42")
        page.click('input[name="_continue"]')
        expect(page.locator(".messagelist")).to_contain_text("was added successfully")
        source = Source.objects.get(name="shop-db")
        assert source.config["password"] == "pg-Secret-42" and source.config["database"] == shop_db
        shot("source-saved")

        page.click("#test-connection")
        expect(page.locator("#test-result")).to_contain_text("SUCCEEDED")
        expect(page.locator("#test-result pre")).to_contain_text("connection succeeded")
        shot("source-tested")
        page.click("#discover-streams")
        expect(page.locator("#discovery")).to_contain_text("Discovered streams: 3")
        shot("source-discovered")

        # A Parquet destination.
        page.goto("/admin/pipelines/destination/add/")
        page.get_by_role("link", name="Parquet files in storage (parquet)").click()
        page.locator('input[name="rjf§path"]').wait_for()
        page.fill("#id_project", "shop")
        page.fill("#id_name", "lake")
        page.fill('input[name="rjf§path"]', folder)
        page.click('input[name="_continue"]')
        expect(page.locator(".messagelist")).to_contain_text("was added successfully")
        destination = Destination.objects.get(name="lake")
        page.click("#test-connection")
        expect(page.locator("#test-result")).to_contain_text("SUCCEEDED")
        shot("destination-saved-and-tested")

        # A job: choosing its source discovers the streams, and two of the three are selected before it is created.
        page.goto("/admin/pipelines/job/add/")
        page.fill("#id_project", "shop")
        page.fill("#id_name", "shop-to-lake")
        page.fill("#id_destination", str(destination.pk))
        expect(page.locator("#streams-hint")).to_be_visible()
        page.fill("#id_source", str(source.pk))
        page.locator("#id_source").blur()  # a chosen source reloads the page with its streams
        expect(page.locator("table.streams-table tr.stream-row")).to_have_count(3)
        expect(page.locator("#id_name")).to_have_value("shop-to-lake")
        page.locator('tr.stream-row[data-stream="audit"] input[type=checkbox]').uncheck()
        shot("job-streams-discovered")
        page.click('input[name="_continue"]')
        expect(page.locator(".messagelist")).to_contain_text("was added successfully")
        job = Job.objects.get(name="shop-to-lake")
        selected = {s["name"] for s in job.streams_config["streams"] if s.get("selected", True)}
        assert selected == {"customers", "orders"}
        expect(page.locator("table.streams-table tr.stream-row")).to_have_count(3)
        shot("job-created")

        # Sync now, watched to its end.
        page.click("#job-sync")
        expect(page.locator(".messagelist")).to_contain_text("Sync queued as run")
        shot("job-sync-queued")

        # The run's page while it runs: the progress bar and the log tail move, with no reload.
        run = JobTask.objects.get(job=job, kind=JobTask.Kind.SYNC)
        page.goto(f"/admin/pipelines/jobtask/{run.pk}/change/")
        page.evaluate("window.d2dSamePage = true")
        log_lines = page.locator("#d2d-log > span[data-level]")
        seen = []  # (progress, log lines) as the page shows them, every quarter second
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            seen.append((int(page.locator("#d2d-run-progress").get_attribute("value")), log_lines.count()))
            if len(seen) == 2:
                shot("run-page-running")
            if seen[-1][0] == 100 and page.locator("#d2d-log-live").inner_text() == "":
                break
            time.sleep(0.25)
        assert page.evaluate("window.d2dSamePage") is True, "the page was not reloaded"
        assert seen[0][0] < 100 and seen[-1][0] == 100, f"the progress bar moved to 100: {seen}"
        assert seen[-1][1] > seen[0][1], f"log lines arrived while the page was open: {seen}"
        expect(page.locator("#d2d-run-badge")).to_contain_text("Succeeded")
        # The fields rendered when it began are swapped for the final ones, still without a reload.
        expect(page.locator(".field-rows_synced .readonly")).to_have_text("85")
        expect(page.locator("#d2d-run")).to_contain_text("public.orders")
        assert page.evaluate("window.d2dSamePage") is True
        shot("run-page-finished")
        run = wait_for(lambda: JobTask.objects.filter(job=job, status__in=[TaskStatus.SUCCEEDED, TaskStatus.FAILED]).first(), "the sync")
        assert run.status == TaskStatus.SUCCEEDED, run.error

        # The dashboard counts it, and its figure links to the run.
        page.goto("/admin/")
        pipelines = page.locator(".d2d-section").filter(has=page.locator("h2", has_text="Pipeline runs"))
        succeeded = pipelines.locator(".d2d-chart").first.locator(".d2d-figure").filter(has_text="Succeeded").locator("a")
        expect(succeeded).to_have_text("1")
        shot("dashboard")
        succeeded.click()
        expect(page.locator("#result_list tbody tr")).to_have_count(1)
        assert run.rows_synced == 85
        page.goto(f"/admin/pipelines/job/{job.pk}/change/")
        expect(page.locator("#tasks-group")).to_contain_text("Succeeded")
        shot("job-synced")
        page.goto("/admin/pipelines/job/")
        expect(page.locator("#result_list")).to_contain_text("100% of 1")
        shot("job-list")

        # A stream edited so its table moves: the clear is shown first, then confirmed.
        page.goto(f"/admin/pipelines/job/{job.pk}/change/")
        page.locator('tr.stream-row[data-stream="orders"] input[name$="-destination_name"]').fill("orders_v2")
        page.click('input[name="_continue"]')
        expect(page.locator("#confirm-clear")).to_contain_text("public.orders")
        shot("job-clear-asked")
        assert not JobTask.objects.filter(job=job, kind=JobTask.Kind.CLEAR).exists()
        page.check("#id_confirm_clear_box")
        page.click('input[name="_continue"]')
        expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
        clear = JobTask.objects.get(job=job, kind=JobTask.Kind.CLEAR)
        assert list(clear.stream_stats) == ["public.orders"]
        wait_for(lambda: JobTask.objects.get(pk=clear.pk).is_finished, "the clear")
        assert JobTask.objects.get(pk=clear.pk).status == TaskStatus.SUCCEEDED
        page.reload()
        shot("job-cleared")
        browser.close()
        connection.close()  # the reads above had a connection of their own beside Playwright's loop: it must not outlive the test

    storage = storages["default"]
    _, kept = storage.listdir(f"pipelines/shop/{folder}/customers")
    assert any(name.endswith(".parquet") for name in kept), "the sync wrote customers, and the clear left it"
    assert not storage.exists(f"pipelines/shop/{folder}/orders") or not storage.listdir(f"pipelines/shop/{folder}/orders")[1]
    assert blocked == [], f"the admin fetched from outside: {blocked}"


def test_five_wrong_admin_passwords_lock_the_sixth_try_in_the_browser(console, django_user_model, tmp_path, monkeypatch):
    """The admin's sign-in is throttled (django-axes through the shared database): the right password comes too late."""
    from playwright.sync_api import expect, sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    django_user_model.objects.create_superuser("guard", "guard@example.com", PASSWORD)
    shots = Path(os.environ.get("D2D_E2E_SCREENSHOTS") or tmp_path / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(base_url=console)
        page.set_default_timeout(STEP_TIMEOUT_MS)

        def sign_in(password: str) -> int:
            page.goto("/admin/login/")
            page.fill("#id_username", "guard")
            page.fill("#id_password", password)
            with page.expect_response(lambda response: response.request.method == "POST") as answer:
                page.click("input[type=submit]")
            return answer.value.status

        statuses = []
        for attempt in range(1, 6):
            statuses.append(sign_in(f"wrong-{attempt}"))
            expect(page.locator(".errornote")).to_be_visible()
            page.screenshot(path=str(shots / f"lockout-{attempt}-wrong.png"), full_page=True)
        assert statuses[:4] == [200] * 4, statuses  # the form again, with its error
        assert statuses[4] == 429, statuses  # the fifth failure locks
        assert sign_in(PASSWORD) == 429
        expect(page.locator(".errornote")).to_contain_text("Too many failed sign-ins")
        page.screenshot(path=str(shots / "lockout-6-right-password-refused.png"), full_page=True)
        page.goto("/admin/")
        expect(page).to_have_url(re.compile(r"/admin/login/"))  # not signed in
        browser.close()
    connection.close()
