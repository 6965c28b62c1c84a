"""The mozilla-django-oidc backend: claims to users, bound identities, staff flags and memberships from groups."""

import hashlib
import logging
import re

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.core.exceptions import ImproperlyConfigured, SuspiciousOperation
from django.db import IntegrityError, transaction
from django.utils import timezone
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.utils import import_from_settings

from accounts.models import ROLE_RANK, Membership, OidcIdentity, Project
from accounts.oidc.discovery import oidc_setting
from accounts.services import membership_remove, membership_set
from kernel.errors import Conflict

logger = logging.getLogger(__name__)

_NOT_USERNAME = re.compile(r"[^\w.@+-]")


def claim_groups(claims: dict) -> set[str]:
    """The configured groups claim as a set; a missing claim means no groups."""
    value = claims.get(settings.D2D_OIDC_GROUPS_CLAIM)
    if value is None:
        return set()
    if isinstance(value, str):
        value = value.replace(",", " ").split()
    elif isinstance(value, dict):
        value = list(value)  # role maps such as Zitadel's {"role": {...}}: the keys are the names
    elif not isinstance(value, (list, tuple)):
        value = [value]  # one group sent bare (a number, say)
    return {str(item) for item in value if isinstance(item, (str, int)) and not isinstance(item, bool)}


def project_roles_for(groups: set[str]) -> tuple[dict[str, str], set[str]]:
    """(project -> highest role the groups grant, every project the mapping manages)."""
    wanted: dict[str, str] = {}
    managed: set[str] = set()
    for entry in settings.D2D_OIDC_PROJECT_ROLES:
        group, _, target = entry.rpartition("=")
        project_id, _, role = target.partition(":")
        managed.add(project_id)
        if group in groups and ROLE_RANK[role] > ROLE_RANK.get(wanted.get(project_id), 0):
            wanted[project_id] = role
    return wanted, managed


def staff_flags_for(groups: set[str]) -> dict[str, bool]:
    """is_staff / is_superuser as the groups set them; a flag with no groups configured is left out."""
    staff_groups, superuser_groups = set(settings.D2D_OIDC_STAFF_GROUPS), set(settings.D2D_OIDC_SUPERUSER_GROUPS)
    flags = {}
    if superuser_groups:
        flags["is_superuser"] = bool(groups & superuser_groups)
    if staff_groups:
        flags["is_staff"] = bool(groups & (staff_groups | superuser_groups))
    elif flags.get("is_superuser"):
        flags["is_staff"] = True  # a superuser who cannot open the admin would be no use
    return flags


def email_is_trusted(claims: dict) -> bool:
    # Some providers (Cognito) send email_verified as a string.
    return bool(claims.get("email")) and str(claims.get("email_verified", True)).lower() != "false"


def provider_key() -> str:
    """Names the configured provider in bound identities: D2D_OIDC_PROVIDER_KEY, else its issuer,
    else its token endpoint."""
    return settings.D2D_OIDC_PROVIDER_KEY or settings.OIDC_OP_ISSUER or import_from_settings("OIDC_OP_TOKEN_ENDPOINT", "")


IDENTITY_TOUCH_SECONDS = 300  # last_seen_at is written at most this often, not on every bearer check


def username_from_claims(claims: dict) -> str:
    raw = str(claims.get("preferred_username") or claims.get("sub") or "").strip()
    return _NOT_USERNAME.sub("-", raw)[:150]


class OIDCBackend(OIDCAuthenticationBackend):
    """Creates and updates users from the provider's claims (ID token merged with userinfo).

    A user is matched by the provider's ``sub`` once bound (accounts.models.OidcIdentity). A first
    sign-in matches by verified email, else by username among users without a local password, so a
    provider cannot take over a local password account by naming it; a user already bound to
    another subject of this provider is never matched that way (the email or name was reassigned).
    """

    get_settings = staticmethod(oidc_setting)
    # At sign-in the claims are complete (ID token and userinfo), so a missing groups claim means
    # no groups. A bearer token is checked at userinfo only, which some providers (Azure AD) never
    # give groups: there a missing claim leaves staff and memberships as the last sign-in set them.
    claims_from_sign_in = True

    def __init__(self, *args, **kwargs):
        # No provider call here. Django builds every backend for each password login and the
        # session's backend on each request: with discovery, a provider that is down would
        # otherwise break password logins and every SSO session. Endpoints resolve on first use.
        self.OIDC_RP_CLIENT_ID = import_from_settings("OIDC_RP_CLIENT_ID")
        self.OIDC_RP_CLIENT_SECRET = import_from_settings("OIDC_RP_CLIENT_SECRET")
        self.OIDC_RP_SIGN_ALGO = import_from_settings("OIDC_RP_SIGN_ALGO", "HS256")
        self.OIDC_RP_IDP_SIGN_KEY = import_from_settings("OIDC_RP_IDP_SIGN_KEY", None)
        self.UserModel = get_user_model()

    @property
    def OIDC_OP_TOKEN_ENDPOINT(self):  # noqa: N802 (mozilla-django-oidc's attribute names)
        return oidc_setting("OIDC_OP_TOKEN_ENDPOINT")

    @property
    def OIDC_OP_USER_ENDPOINT(self):  # noqa: N802
        return oidc_setting("OIDC_OP_USER_ENDPOINT")

    @property
    def OIDC_OP_JWKS_ENDPOINT(self):  # noqa: N802
        return oidc_setting("OIDC_OP_JWKS_ENDPOINT", None)

    def authenticate(self, request, **kwargs):
        # Only the callback view passes nonce and code_verifier; a password login that happens to
        # carry ?code=&state= in its URL must not start a token exchange.
        if "nonce" not in kwargs:
            return None
        try:
            return super().authenticate(request, **kwargs)
        except (requests.RequestException, ImproperlyConfigured, ValueError) as exc:
            # The callback view then sends the browser to LOGIN_REDIRECT_URL_FAILURE, not a 500.
            logger.warning("OIDC sign-in failed, provider unavailable: %s", exc)
            return None

    def get_userinfo(self, access_token, id_token, payload):
        userinfo = super().get_userinfo(access_token, id_token, payload)
        self.claims_from_sign_in = bool(payload)
        if not payload:
            return userinfo
        if str(userinfo.get("sub")) != str(payload.get("sub")):
            raise SuspiciousOperation("userinfo and ID token name different subjects")
        # Azure AD and others put groups in the ID token only.
        return {**payload, **userinfo}

    def verify_claims(self, claims):
        # A subject longer than OidcIdentity.subject could not be found again after binding.
        return bool(username_from_claims(claims)) and 0 < len(str(claims.get("sub") or "")) <= 255

    def filter_users_by_claims(self, claims):
        subject = str(claims.get("sub") or "")
        bound = self.UserModel.objects.filter(oidc_identities__issuer=provider_key(), oidc_identities__subject=subject)
        if subject and bound.exists():
            return bound
        users = self.UserModel.objects.exclude(oidc_identities__issuer=provider_key())
        if email_is_trusted(claims):
            by_email = users.filter(email__iexact=claims["email"].strip())
            if by_email.exists():
                return by_email
        return users.filter(
            username__iexact=username_from_claims(claims), password__startswith=UNUSABLE_PASSWORD_PREFIX
        )

    def create_user(self, claims):
        username = self._free_username(claims)
        email = claims["email"].strip().lower() if email_is_trusted(claims) else ""
        if not email or self.UserModel.objects.filter(email__iexact=email).exists():
            # User.email is unique: a user without a usable address gets a reserved-domain placeholder.
            email = f"{username.replace('@', '.')}@sso.invalid"
        try:
            with transaction.atomic():
                user = self.UserModel.objects.create_user(username, email=email)  # unusable password
        except IntegrityError:
            # A parallel first request created the same user.
            existing = self.filter_users_by_claims(claims)
            if len(existing) != 1:
                raise SuspiciousOperation(f"cannot create a user for {username!r}") from None
            user = existing[0]
        return self.update_user(user, claims)

    def _free_username(self, claims) -> str:
        base = username_from_claims(claims)
        taken = self.UserModel.objects.filter(username__iexact=base).exists()
        if not taken:
            return base
        suffix = hashlib.sha256(str(claims.get("sub", base)).encode()).hexdigest()[:8]
        return f"{base[:140]}-{suffix}"

    def update_user(self, user, claims):
        changed = set()
        for field, claim in (("first_name", "given_name"), ("last_name", "family_name")):
            value = str(claims.get(claim) or "")[:150]
            if value and getattr(user, field) != value:
                setattr(user, field, value)
                changed.add(field)
        email = claims["email"].strip().lower() if email_is_trusted(claims) else ""
        if email and user.email.lower() != email and not self.UserModel.objects.filter(email__iexact=email).exists():
            user.email = email
            changed.add("email")
        sync_groups = self.claims_from_sign_in or settings.D2D_OIDC_GROUPS_CLAIM in claims
        groups = claim_groups(claims)
        if sync_groups:
            for field, value in staff_flags_for(groups).items():
                if getattr(user, field) != value:
                    setattr(user, field, value)
                    changed.add(field)
        if changed:
            user.save(update_fields=sorted(changed))
        self._bind_identity(user, claims)
        if sync_groups:
            self._sync_memberships(user, groups)
        return user

    def _bind_identity(self, user, claims) -> None:
        subject = str(claims.get("sub") or "")
        if not subject:
            return
        try:
            with transaction.atomic():
                identity, created = OidcIdentity.objects.get_or_create(
                    issuer=provider_key(), subject=subject, defaults={"user": user}
                )
        except IntegrityError:
            raise SuspiciousOperation(f"{user.username} is already bound to another OIDC subject") from None
        if identity.user_id != user.pk:
            raise SuspiciousOperation(f"OIDC subject {subject!r} is bound to another user")
        if created:
            logger.info("OIDC subject %s of %s bound to user %s", subject, provider_key(), user.username)
        if not created and (timezone.now() - identity.last_seen_at).total_seconds() > IDENTITY_TOUCH_SECONDS:
            OidcIdentity.objects.filter(pk=identity.pk).update(last_seen_at=timezone.now())

    def _sync_memberships(self, user, groups: set[str]) -> None:
        """Projects named in D2D_OIDC_PROJECT_ROLES follow the groups; other memberships are left alone."""
        wanted, managed = project_roles_for(groups)
        if not managed:
            return
        projects = Project.objects.in_bulk(managed)
        current = {m.project_id: m for m in Membership.objects.filter(user=user, project_id__in=managed)}
        for project_id in sorted(managed):
            project = projects.get(project_id)
            if project is None:
                if project_id in wanted:
                    logger.warning("D2D_OIDC_PROJECT_ROLES names project %r, which does not exist", project_id)
                continue
            try:
                if project_id in wanted:
                    if getattr(current.get(project_id), "role", None) != wanted[project_id]:
                        membership_set(project=project, user=user, role=wanted[project_id])
                elif project_id in current:
                    membership_remove(project=project, user=user)
            except Conflict as exc:
                logger.warning("kept %s's role in %s from the groups claim: %s", user.username, project_id, exc)
