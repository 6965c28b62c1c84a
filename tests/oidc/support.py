"""A real OpenID Connect provider process (django-oauth-toolkit) and a browser-like client for its pages."""

import base64
import hashlib
import json
import os
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.support.processes import ROOT, free_port, wait_for_port

PASSWORD = "provider-password-42"
CLI_CLIENT = "d2d-cli"  # a public client, as a command-line tool would register
CLI_REDIRECT = "http://127.0.0.1:9/callback"  # never contacted: the code is read from the Location header
D2D_CLIENT = "d2d"
D2D_SECRET = "d2d-client-secret-for-tests"
SCOPES = "openid email profile groups"

USERS = [
    {"username": "stella", "email": "stella@corp.example", "first_name": "Stella",
     "groups": ["d2d-staff", "alpha-editors"]},
    {"username": "pat", "email": "pat@corp.example", "first_name": "Pat", "groups": ["alpha-viewers"]},
    {"username": "nora", "email": "nora@corp.example", "first_name": "Nora", "groups": []},
]


def rsa_private_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def provider_env(db: Path, key_file: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL"))}
    env.update(
        DJANGO_SETTINGS_MODULE="tests.oidc.provider.settings",
        PROVIDER_DB=str(db),
        PROVIDER_KEY_FILE=str(key_file),
        PYTHONUNBUFFERED="1",
    )
    return env


def build_provider_db(folder: Path, *, d2d_redirect: str) -> Path:
    """Migrate and seed one provider database, copied for each provider process."""
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "template.sqlite3"
    key_file = folder / "unused-key.pem"
    key_file.write_text(rsa_private_pem())
    spec = folder / "seed.json"
    spec.write_text(
        json.dumps(
            {
                "users": [{**user, "password": PASSWORD} for user in USERS],
                "applications": [
                    {"client_id": CLI_CLIENT, "client_type": "public", "redirect_uris": [CLI_REDIRECT]},
                    {
                        "client_id": D2D_CLIENT,
                        "client_secret": D2D_SECRET,
                        "client_type": "confidential",
                        "redirect_uris": [d2d_redirect],
                    },
                ],
            }
        )
    )
    env = provider_env(db, key_file)
    for command in (["migrate", "--noinput", "-v", "0"], ["seed_provider", str(spec)]):
        subprocess.run([sys.executable, "-m", "django", *command], cwd=ROOT, env=env, check=True, timeout=120)
    return db


class Provider:
    """One django-oauth-toolkit server with its own database and signing key, on a loopback port."""

    def __init__(self, folder: Path, template_db: Path):
        folder.mkdir(parents=True, exist_ok=True)
        self.db = folder / "provider.sqlite3"
        shutil.copyfile(template_db, self.db)
        self.key_file = folder / "signing-key.pem"
        self.key_file.write_text(rsa_private_pem())
        self.log_path = folder / "provider.log"
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.issuer = f"{self.base}/o"
        self.process = None

    def start(self):
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "django", "runserver", f"127.0.0.1:{self.port}", "--noreload"],
            cwd=ROOT, env=provider_env(self.db, self.key_file), stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for_port(self.port, process=self.process)
        self.metadata = requests.get(f"{self.issuer}/.well-known/openid-configuration", timeout=10).json()
        return self

    def stop(self):
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def userinfo_calls(self) -> int:
        return self.log_text().count('"GET /o/userinfo/')

    def d2d_environment(self) -> dict:
        """The variables an operator would set in d2d for this provider (explicit endpoints)."""
        return {
            "OIDC_RP_CLIENT_ID": D2D_CLIENT,
            "OIDC_RP_CLIENT_SECRET": D2D_SECRET,
            "OIDC_OP_AUTHORIZATION_ENDPOINT": self.metadata["authorization_endpoint"],
            "OIDC_OP_TOKEN_ENDPOINT": self.metadata["token_endpoint"],
            "OIDC_OP_USER_ENDPOINT": self.metadata["userinfo_endpoint"],
            "OIDC_OP_JWKS_ENDPOINT": self.metadata["jwks_uri"],
            "OIDC_RP_SIGN_ALGO": "RS256",
            "OIDC_RP_SCOPES": SCOPES,
        }

    def access_token(self, username: str) -> str:
        """A real access token for USERNAME: authorization code with PKCE, as a command-line client does."""
        return ProviderBrowser(self).authorization_code_tokens(username)["access_token"]

    def revoke(self, token: str) -> None:
        answer = requests.post(
            f"{self.issuer}/revoke_token/", data={"token": token, "client_id": CLI_CLIENT}, timeout=10
        )
        assert answer.status_code == 200, answer.text

    def expire(self, token: str) -> None:
        """Make the token expired at the provider, as if its lifetime had run out."""
        with sqlite3.connect(self.db) as db:
            changed = db.execute(
                "UPDATE oauth2_provider_accesstoken SET expires = '2000-01-01 00:00:00' WHERE token = ?", (token,)
            ).rowcount
        assert changed == 1


class _Forms(HTMLParser):
    """The forms of a page: action, and the value of each named input."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append({"action": attrs.get("action") or "", "fields": {}})
        elif tag == "input" and self.forms and attrs.get("name") and attrs.get("type") != "submit":
            self.forms[-1]["fields"][attrs["name"]] = attrs.get("value") or ""


def page_form(response) -> tuple[str, dict]:
    parser = _Forms()
    parser.feed(response.text)
    assert parser.forms, f"no form on {response.url}: {response.text[:500]}"
    form = parser.forms[0]
    return urljoin(response.url, form["action"] or response.url), form["fields"]


class ProviderBrowser:
    """A requests.Session that walks the provider's pages like a person: sign in, then consent."""

    def __init__(self, provider: Provider, session: requests.Session | None = None):
        self.provider = provider
        self.session = session or requests.Session()
        self.visited: list[str] = []

    def get(self, url: str, *, stop_at: str | None = None, **kwargs):
        return self._follow(self.session.get(url, allow_redirects=False, timeout=15, **kwargs), stop_at)

    def _follow(self, response, stop_at):
        """Follow redirects until a page is shown, or until the next hop starts with stop_at."""
        while response.is_redirect:
            target = urljoin(response.url, response.headers["Location"])
            if stop_at and target.startswith(stop_at):
                return response
            self.visited.append(target)
            response = self.session.get(target, allow_redirects=False, timeout=15)
        return response

    def sign_in_and_consent(self, response, username: str, *, stop_at: str | None = None):
        """From a page of the provider's sign-in flow to the redirect back to the client."""
        if "/accounts/login/" in response.url:
            action, fields = page_form(response)
            fields.update(username=username, password=PASSWORD)
            response = self._follow(self.session.post(action, data=fields, allow_redirects=False, timeout=15), stop_at)
        if response.is_redirect:
            return response
        assert "/o/authorize/" in response.url, f"expected the consent page, got {response.url}"
        action, fields = page_form(response)
        fields["allow"] = "Authorize"
        return self._follow(self.session.post(action, data=fields, allow_redirects=False, timeout=15), stop_at)

    def authorization_code_tokens(self, username: str) -> dict:
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        state = secrets.token_urlsafe(8)
        params = {
            "response_type": "code",
            "client_id": CLI_CLIENT,
            "redirect_uri": CLI_REDIRECT,
            "scope": SCOPES,
            "state": state,
            "nonce": secrets.token_urlsafe(8),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        response = self.get(self.provider.metadata["authorization_endpoint"], params=params, stop_at=CLI_REDIRECT)
        back = self.sign_in_and_consent(response, username, stop_at=CLI_REDIRECT)
        query = parse_qs(urlsplit(back.headers["Location"]).query)
        assert query["state"] == [state]
        answer = requests.post(
            self.provider.metadata["token_endpoint"],
            data={
                "grant_type": "authorization_code",
                "code": query["code"][0],
                "redirect_uri": CLI_REDIRECT,
                "client_id": CLI_CLIENT,
                "code_verifier": verifier,
            },
            timeout=15,
        )
        assert answer.status_code == 200, answer.text
        return answer.json()
