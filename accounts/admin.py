"""Admin for users, projects with their members (both with their change history), and API tokens (hashes never shown)."""

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from accounts.models import ApiToken, Membership, OidcIdentity, Project, User
from accounts.services import token_issue, token_revoke
from kernel.admin import SoftDeleteAdmin
from kernel.history import HistoryAdmin


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    raw_id_fields = ["user"]
    fields = ["user", "role", "created_at"]
    readonly_fields = ["created_at"]


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "email", "is_staff", "is_active", "last_login", "date_joined"]
    list_filter = ["is_staff", "is_superuser", "is_active", "memberships__project"]
    search_fields = ["username", "email", "first_name", "last_name"]
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("username", "email", "password1", "password2")}),)
    actions = ["issue_token"]

    @admin.action(description="Issue an API token (shown once)")
    def issue_token(self, request, queryset):
        for user in queryset:
            _, plain = token_issue(user=user, name=f"admin:{request.user.username}")
            # Shown once in the page's message; it is not stored in plain text anywhere.
            self.message_user(request, f"Token for {user.username}: {plain}", messages.WARNING)


@admin.register(Project)
class ProjectAdmin(HistoryAdmin, SoftDeleteAdmin):
    list_display = ["id", "name", "member_count", "created_at", "deleted_at"]
    search_fields = ["id", "name", "memberships__user__username"]
    inlines = [MembershipInline]
    readonly_fields = ["created_at", "updated_at", "created_by", "updated_by", "deleted_at", "deleted_by"]

    @admin.display(description="members")
    def member_count(self, obj):
        return obj.memberships.count()

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return fields + ["id"] if obj else fields

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(Membership)
class MembershipAdmin(HistoryAdmin):
    list_display = ["user", "project", "role", "created_at"]
    list_filter = ["role", "project"]
    list_select_related = ["user", "project"]
    search_fields = ["user__username", "user__email", "project__id", "project__name"]
    raw_id_fields = ["user"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["__str__", "user", "name", "created_at", "expires_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at", "created_at"]
    list_select_related = ["user"]
    search_fields = ["user__username", "name", "key_id"]
    fields = ["user", "name", "key_id", "created_at", "expires_at", "last_used_at", "revoked_at"]
    readonly_fields = ["user", "key_id", "created_at", "last_used_at"]
    actions = ["revoke_selected"]

    def has_add_permission(self, request):
        return False  # issue from the user list ("Issue an API token") so the token can be shown once

    @admin.action(description="Revoke selected tokens")
    def revoke_selected(self, request, queryset):
        # Through the service, not queryset.update(): it also drops each token from the token cache.
        live = list(queryset.filter(revoked_at__isnull=True))
        for token in live:
            token_revoke(token=token)
        count = len(live)
        self.message_user(request, f"Revoked {count} token(s).", messages.SUCCESS)


@admin.register(OidcIdentity)
class OidcIdentityAdmin(admin.ModelAdmin):
    """Which provider subject signs in as which user. Deleting a row unbinds it: the next sign-in
    of that subject matches by verified email or username again, as a first sign-in does."""

    list_display = ["subject", "user", "issuer", "created_at", "last_seen_at"]
    list_filter = ["issuer", "last_seen_at"]
    list_select_related = ["user"]
    search_fields = ["subject", "user__username", "user__email", "issuer"]
    raw_id_fields = ["user"]
    readonly_fields = ["created_at", "last_seen_at"]
