"""OIDC settings: off without a client id, and a bad configuration stops d2d at start-up."""

import subprocess
import sys

from tests.support.processes import ROOT

CHECK = "import d2d.settings as s; print(s.OIDC_ENABLED, s.REST_FRAMEWORK['DEFAULT_AUTHENTICATION_CLASSES'][1])"


def settings_with(**env):
    base = {"PATH": "/usr/bin:/bin", "D2D_DATA_DIR": str(ROOT / "var" / "test-oidc-settings")}
    return subprocess.run([sys.executable, "-c", CHECK], cwd=ROOT, env={**base, **env}, capture_output=True, text=True)


def test_it_is_off_without_a_client_id():
    answer = settings_with()
    assert answer.returncode == 0, answer.stderr
    assert answer.stdout.split() == ["False", "accounts.authentication.CsrfExemptSessionAuthentication"]


def test_it_puts_bearer_tokens_after_d2d_tokens_when_configured():
    answer = settings_with(
        OIDC_RP_CLIENT_ID="d2d", OIDC_RP_CLIENT_SECRET="s", OIDC_OP_ISSUER="https://id.example.com/realms/corp"
    )
    assert answer.returncode == 0, answer.stderr
    assert answer.stdout.split() == ["True", "accounts.oidc.authentication.OIDCBearerAuthentication"]


def test_it_refuses_a_client_id_without_a_provider():
    answer = settings_with(OIDC_RP_CLIENT_ID="d2d", OIDC_RP_CLIENT_SECRET="s")
    assert answer.returncode != 0 and "needs OIDC_OP_ISSUER or all four" in answer.stderr


def test_it_refuses_a_client_id_without_its_secret():
    answer = settings_with(OIDC_RP_CLIENT_ID="d2d", OIDC_OP_ISSUER="https://id.example.com/realms/corp")
    assert answer.returncode != 0 and "needs OIDC_RP_CLIENT_SECRET" in answer.stderr


def test_it_refuses_a_malformed_project_role_mapping():
    answer = settings_with(
        OIDC_RP_CLIENT_ID="d2d",
        OIDC_RP_CLIENT_SECRET="s",
        OIDC_OP_ISSUER="https://id.example.com",
        D2D_OIDC_PROJECT_ROLES="staff=alpha:admin",
    )
    assert answer.returncode != 0 and "'staff=alpha:admin' is not group=project:viewer|editor|owner" in answer.stderr
