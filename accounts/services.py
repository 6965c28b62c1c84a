"""Account workflows: signup, tokens, projects and memberships (login throttling: accounts/throttle.py)."""

import hmac
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import token_cache
from accounts.models import TOKEN_PREFIX, ApiToken, Membership, Project, Role, hash_token_secret
from kernel.errors import Conflict, DomainError, NotFound, PermissionDenied

User = get_user_model()


class SignupClosed(PermissionDenied):
    code = "signup_closed"


def user_create(*, username: str, email: str, password: str, is_staff: bool = False) -> User:
    """Create a user after checking uniqueness and the password rules."""
    username = (username or "").strip()
    email = (email or "").strip().lower()
    for field, value in (("username", username), ("email", email), ("password", password)):
        if not value:
            raise DomainError(f"{field} is required", field=field)
    if User.objects.filter(username__iexact=username).exists():
        raise DomainError(f"username {username!r} is already taken", field="username")
    if User.objects.filter(email__iexact=email).exists():
        raise DomainError(f"email {email!r} is already registered", field="email")
    candidate = User(username=username, email=email, is_staff=is_staff)
    try:
        candidate.full_clean(exclude=["password"])
        password_validation.validate_password(password, candidate)
    except ValidationError as exc:
        field = next(iter(exc.message_dict), "password") if hasattr(exc, "error_dict") else "password"
        raise DomainError(" ".join(exc.messages), field=field) from None
    candidate.set_password(password)
    try:
        candidate.save()
    except IntegrityError:
        raise DomainError(f"username {username!r} or email {email!r} is already taken") from None
    return candidate


@transaction.atomic
def user_signup(*, username: str, email: str, password: str) -> User:
    """Self-service registration (004 /signup), open only when D2D_OPEN_SIGNUP is on."""
    if not settings.D2D_OPEN_SIGNUP:
        raise SignupClosed("registration is closed; ask an administrator for an account")
    user = user_create(username=username, email=email, password=password)
    for entry in settings.D2D_SIGNUP_PROJECTS:
        project_id, _, role = entry.partition(":")
        project = Project.objects.filter(pk=project_id).first()
        if project is not None:
            Membership.objects.get_or_create(project=project, user=user, defaults={"role": role or Role.VIEWER})
    return user


def token_issue(*, user: User, name: str = "", ttl_days: int | None = None) -> tuple[ApiToken, str]:
    """Create a token; the plain text is returned once and never stored."""
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    days = settings.D2D_TOKEN_TTL_DAYS if ttl_days is None else ttl_days
    token = ApiToken.objects.create(
        user=user,
        name=name[:100],
        key_id=key_id,
        secret_hash=hash_token_secret(secret),
        expires_at=timezone.now() + timedelta(days=days) if days else None,
    )
    return token, f"{TOKEN_PREFIX}{key_id}_{secret}"


def token_authenticate(raw: str) -> ApiToken | None:
    """The live token for a presented string, or None.

    A token found live is kept in the token cache for D2D_TOKEN_CACHE_SECONDS (accounts/token_cache.py),
    so a client polling with it does not look it up on every request; anything that revokes,
    expires, deletes or changes the token or its user drops the entry at once.
    """
    if not raw.startswith(TOKEN_PREFIX):
        return None
    key_id, _, secret = raw[len(TOKEN_PREFIX) :].partition("_")
    secret_hash = hash_token_secret(secret)
    generation = token_cache.current_generation()  # before any read: a change while we read shows
    token = token_cache.get(secret_hash, generation)
    if token is not None and hmac.compare_digest(token.key_id.encode(), key_id.encode()) and token.is_active and token.user.is_active:
        _touch(token, cached=True)
        return token
    token = ApiToken.objects.usable().select_related("user").filter(key_id=key_id).first()
    if token is None or not token.matches(secret) or not token.user.is_active:
        return None
    _touch(token, cached=False)
    token_cache.add(token, generation)
    return token


_touched: dict[str, object] = {}  # secret hash -> when this process last wrote the token's last_used_at


def _touch(token: ApiToken, *, cached: bool) -> None:
    """Write last use at most once a minute so a busy client does not write on every request."""
    now = timezone.now()
    minute = timedelta(minutes=1)
    if token.last_used_at is not None and now - token.last_used_at <= minute:
        return
    if cached:  # the cached copy keeps the value it was read with: did this process write since?
        written = _touched.get(token.secret_hash)
        if written is not None and now - written <= minute:
            return
    if len(_touched) > 10000:
        _touched.clear()
    _touched[token.secret_hash] = now
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    token.last_used_at = now


def token_revoke(*, token: ApiToken) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    token_cache.forget(token.secret_hash)  # also done by the post_save receiver; explicit here
    return token


def project_create(*, project_id: str, name: str, owner: User | None = None, by: User | None = None) -> Project:
    project_id = (project_id or "").strip().lower()
    if Project.all_objects.filter(pk=project_id).exists():
        raise Conflict(f"project {project_id!r} already exists")
    project = Project(id=project_id, name=name or project_id, created_by=by, updated_by=by)
    try:
        project.full_clean()
    except ValidationError as exc:
        raise DomainError(" ".join(exc.messages), field="id") from None
    project.save()
    if owner is not None:
        membership_set(project=project, user=owner, role=Role.OWNER)
    return project


def membership_set(*, project: Project, user: User, role: str) -> Membership:
    if role not in Role.values:
        raise DomainError(f"role must be one of {', '.join(Role.values)}", field="role")
    membership, created = Membership.objects.get_or_create(project=project, user=user, defaults={"role": role})
    if not created and membership.role != role:
        _refuse_removing_last_owner(membership, new_role=role)
        membership.role = role
        membership.save(update_fields=["role"])
    return membership


def membership_remove(*, project: Project, user: User) -> None:
    membership = Membership.objects.filter(project=project, user=user).first()
    if membership is None:
        raise NotFound(f"{user.username} is not a member of {project.id}")
    _refuse_removing_last_owner(membership, new_role=None)
    membership.delete()


def _refuse_removing_last_owner(membership: Membership, *, new_role: str | None) -> None:
    if membership.role == Role.OWNER and new_role != Role.OWNER:
        owners = Membership.objects.filter(project=membership.project, role=Role.OWNER).count()
        if owners <= 1:
            raise Conflict("a project keeps at least one owner")
