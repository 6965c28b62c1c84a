"""Users, projects, memberships and API tokens."""

import hashlib
import hmac

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords

from kernel.history import history_user
from kernel.models import AuditedModel, SoftDeleteModel, SoftDeleteQuerySet


class User(AbstractUser):
    email = models.EmailField("email address", unique=True)

    objects = UserManager()

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"


class Role(models.TextChoices):
    VIEWER = "viewer", "Viewer"
    EDITOR = "editor", "Editor"
    OWNER = "owner", "Owner"


ROLE_RANK = {Role.VIEWER: 1, Role.EDITOR: 2, Role.OWNER: 3}


class ProjectQuerySet(SoftDeleteQuerySet):
    def for_user(self, user):
        """Projects the user belongs to; staff with superuser rights see all."""
        if not user or not user.is_authenticated:
            return self.none()
        if user.is_superuser:
            return self
        return self.filter(memberships__user=user)  # one membership per project and user: no DISTINCT


class LiveProjectManager(models.Manager.from_queryset(ProjectQuerySet)):
    def get_queryset(self):
        return super().get_queryset().filter(deleted_at__isnull=True)


slug_validator = RegexValidator(r"^[a-z0-9][a-z0-9_-]{0,62}$", "Use lowercase letters, digits, - and _ (e.g. olake).")


class Project(SoftDeleteModel, AuditedModel):
    """A tenant: every object of every contract belongs to one project."""

    id = models.CharField(primary_key=True, max_length=63, validators=[slug_validator])
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="Membership", related_name="projects")

    objects = LiveProjectManager()
    history = HistoricalRecords(get_user=history_user)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"{self.name} ({self.id})"


class Membership(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    history = HistoricalRecords(get_user=history_user)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "user"], name="membership_unique_user")]
        ordering = ["project_id", "user__username"]

    def __str__(self):
        return f"{self.user} is {self.role} of {self.project_id}"

    def allows(self, needed: str) -> bool:
        return ROLE_RANK[self.role] >= ROLE_RANK[needed]


TOKEN_PREFIX = "d2d_"


def hash_token_secret(secret: str) -> str:
    # Tokens carry 256 bits of randomness, so SHA-256 is enough; a slow KDF buys nothing and
    # an unkeyed hash keeps tokens valid across SECRET_KEY rotation.
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiTokenQuerySet(models.QuerySet):
    def usable(self):
        now = timezone.now()
        return self.filter(revoked_at__isnull=True).filter(models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now))


class ApiToken(models.Model):
    """An API token; only its hash is stored, the token itself is shown once when issued."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True)
    key_id = models.CharField(max_length=16, unique=True, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API token"

    def __str__(self):
        return f"{TOKEN_PREFIX}{self.key_id}… ({self.user})"

    @property
    def is_active(self) -> bool:
        if self.revoked_at:
            return False
        return self.expires_at is None or self.expires_at > timezone.now()

    def matches(self, secret: str) -> bool:
        return hmac.compare_digest(self.secret_hash, hash_token_secret(secret))


class OidcIdentity(models.Model):
    """A provider's subject bound to a d2d user, so sign-ins match on the immutable ``sub``.

    Email and username can be reassigned at the provider; ``sub`` is unique and never reused
    there (OpenID Connect Core 5.7), so once bound it decides which d2d user signs in.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="oidc_identities")
    issuer = models.CharField(max_length=255, help_text="OIDC_OP_ISSUER, else the token endpoint, when it was bound.")
    subject = models.CharField(max_length=255)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="oidc_identity_unique_subject"),
            # One subject per user and provider: two first sign-ins racing with the same email
            # cannot both bind to one account.
            models.UniqueConstraint(fields=["user", "issuer"], name="oidc_identity_one_per_provider"),
        ]
        ordering = ["-last_seen_at"]
        verbose_name = "OIDC identity"
        verbose_name_plural = "OIDC identities"

    def __str__(self):
        return f"{self.subject} at {self.issuer} → {self.user}"
