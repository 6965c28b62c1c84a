"""Request and response shapes of the accounts endpoints."""

from rest_framework import serializers

from accounts.models import ApiToken, Membership, Role


class SignupSerializer(serializers.Serializer):
    email = serializers.EmailField()
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(write_only=True, max_length=128)


class SignupResultSerializer(serializers.Serializer):
    email = serializers.EmailField()
    username = serializers.CharField()


class CredentialsSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, write_only=True)


class UsernameSerializer(serializers.Serializer):
    username = serializers.CharField()


class TokenRequestSerializer(CredentialsSerializer):
    name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")


class IssuedTokenSerializer(serializers.Serializer):
    access_token = serializers.CharField(help_text="Shown once; only its hash is stored.")
    token_type = serializers.CharField(default="bearer")
    token_id = serializers.IntegerField()
    expires_at = serializers.DateTimeField(allow_null=True)


class ApiTokenSerializer(serializers.ModelSerializer):
    prefix = serializers.SerializerMethodField()
    active = serializers.BooleanField(source="is_active", read_only=True)

    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "expires_at", "last_used_at", "revoked_at", "active"]
        read_only_fields = fields

    def get_prefix(self, token) -> str:
        return f"d2d_{token.key_id}"


class ProjectRoleSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    role = serializers.CharField()


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    email = serializers.EmailField()
    is_staff = serializers.BooleanField()
    projects = ProjectRoleSerializer(many=True)


class UserCreateSerializer(SignupSerializer):
    is_staff = serializers.BooleanField(default=False)


class MembershipSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)
    email = serializers.EmailField(source="user.email", read_only=True)

    class Meta:
        model = Membership
        fields = ["username", "email", "role", "created_at"]
        read_only_fields = ["username", "email", "created_at"]


class MembershipWriteSerializer(serializers.Serializer):
    username = serializers.CharField()
    role = serializers.ChoiceField(choices=Role.choices)


class RoleSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)


class ProjectSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    role = serializers.CharField(allow_null=True)
