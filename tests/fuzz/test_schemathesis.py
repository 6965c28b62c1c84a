"""Schemathesis against d2d's own OpenAPI schema, over real HTTP, as a project member.

Every check runs; the gate is the Hardening issue's: no 5xx, no response that contradicts the
schema (status codes, content types, headers, bodies), no endpoint reachable without its
authentication (ignored_auth). The request-strictness checks (ST201 schema-violating request
accepted, ST202 schema-valid request rejected) are printed but do not gate: the contracts
themselves answer some schema-valid requests with 400 (003's "you have unfinished commit of
this task", a task past its deadline). Fixed seed and bounded examples keep it repeatable.
"""

import re

import os
import subprocess
import sys

import pytest

from accounts.models import Project, Role
from accounts.services import membership_set, token_issue, user_create
from tests.support.processes import ROOT, child_env, free_port, wait_for_port

pytestmark = pytest.mark.e2e

MAX_EXAMPLES = int(os.environ.get("D2D_FUZZ_EXAMPLES", "6"))
NOT_GATING = {"ST201", "ST202"}


@pytest.fixture
def live_server_process(transactional_db, tmp_path):
    port = free_port()
    log = open(tmp_path / "web.log", "wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "d2d.asgi:application", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT, env=child_env(), stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port, process=process)
        yield f"http://127.0.0.1:{port}", tmp_path / "web.log"
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_it_survives_schemathesis_with_every_check(live_server_process, tmp_path):
    base, web_log = live_server_process
    member = user_create(username="fuzzer", email="fuzzer@example.com", password="fuzz-fuzz-fuzz-1")
    olake, _ = Project.objects.get_or_create(pk="olake", defaults={"name": "OLake"})  # an earlier test may flush it
    membership_set(project=olake, user=member, role=Role.EDITOR)
    _, token = token_issue(user=member, name="fuzz")
    result = subprocess.run(
        [
            str(ROOT / ".venv/bin/st"), "run", f"{base}/api/v1/openapi.json",
            "--checks", "all",
            "--seed", "20261122",
            "--max-examples", str(MAX_EXAMPLES),
            "--header", f"Authorization: Bearer {token}",
            "--request-timeout", "30",
            "--workers", "1",
            # These revoke the very token the run authenticates with; tests/accounts covers them.
            "--exclude-name", "DELETE /api/v1/auth/token",
            "--exclude-name", "DELETE /api/v1/auth/tokens/{token_id}",
            "--no-color",
        ],
        cwd=tmp_path, capture_output=True, text=True, timeout=1200, env={**os.environ, "SCHEMATHESIS_HOOKS": ""},
    )
    output = result.stdout + result.stderr
    findings = re.findall(r"^- (ST\d+) (.+)$", output, re.MULTILINE)
    gating = [finding for finding in findings if finding[0] not in NOT_GATING]
    print(f"schemathesis: {len(findings)} findings, {len(gating)} gating; last lines:\n{output[-600:]}")
    for code, title in sorted(set(findings) - set(gating)):
        print(f"  not gating: {code} {title}")
    assert "Seed: 20261122" in output, output[-5000:]  # it ran to the end
    assert not gating, output[-15000:] + "\n--- server log ---\n" + web_log.read_text(errors="replace")[-5000:]
