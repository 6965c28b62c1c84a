"""The harness of the OLake UI's browser tests: the UI build under test, the browser session and its journey of steps."""

import json
import os
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.support.components import skip_not_provided

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


@contextmanager
def browser_journey(base: str, shots: Path):
    """Debian's chromium on the d2d under test: a page that may load nothing but 127.0.0.1, and its Journey."""
    from playwright.sync_api import sync_playwright

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
        try:
            yield page, journey
        finally:
            context.close()
            browser.close()


def screenshots_folder(tmp_path: Path) -> Path:
    shots = Path(os.environ.get("D2D_E2E_SCREENSHOTS") or tmp_path / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    print(f"\nOLake UI screenshots: {shots}")
    return shots


def assert_journey(journey: Journey, shots: Path, web_log: Path, cluster) -> None:
    """No request left loopback, and every step passed; else each failure with its traffic and the servers' logs."""
    (shots / "traffic.json").write_text(json.dumps(journey.traffic, indent=1))
    unexpected = [url for url in journey.blocked if not url.startswith(KNOWN_EXTERNAL)]
    assert not unexpected, f"the UI tried to leave loopback: {unexpected}"
    assert not journey.failures, (
        "\n".join(journey.failures) + f"\n(screenshots and traffic.json in {shots}; d2d log {web_log})\n"
        + web_log.read_text(errors="replace")[-3000:] + cluster.log_text()[-2000:]
    )
