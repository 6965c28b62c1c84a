"""004's /signup, /login, /auth, /logout; 000's auth service; projects and their members."""

from django.conf import settings
from django.contrib.auth import authenticate, get_user_model, login, logout
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import permissions, status
from rest_framework.exceptions import AuthenticationFailed, Throttled

from accounts import services
from accounts.api import serializers as s
from accounts.models import ApiToken, Membership, Project, Role
from accounts.scoping import project_for_user
from accounts.throttle import clear_failures, is_locked_out, lockout_message
from kernel.api.contracts import ENVELOPE
from kernel.api.serializers import EnvelopeErrorSerializer, envelope_of
from kernel.api.views import ContractView
from kernel.errors import DomainError

User = get_user_model()


def check_credentials(request, username: str, password: str):
    """Authenticate; a client locked out by the login throttle (accounts/throttle.py) gets a 429.

    The throttle refuses a locked client before its password is compared, so a right password
    after too many wrong ones is refused as well, until the lock lapses or staff lift it.
    """
    user = authenticate(request, username=username, password=password)
    if user is None:
        if is_locked_out(request):
            raise Throttled(detail=lockout_message(), wait=settings.D2D_LOGIN_LOCKOUT_SECONDS)
        raise AuthenticationFailed("Invalid username or password")
    return user


class CredentialsCheckingView(ContractView):
    """A view that checks a password itself: a wrong one is a 401, not DRF's 403 fallback."""

    def get_authenticate_header(self, request):
        return 'Bearer realm="d2d"'


ENVELOPE_ERRORS = {400: EnvelopeErrorSerializer, 401: EnvelopeErrorSerializer, 429: EnvelopeErrorSerializer}


class SignupView(CredentialsCheckingView):
    contract = ENVELOPE
    authentication_classes = []
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        tags=["auth"],
        request=s.SignupSerializer,
        responses={200: envelope_of("SignupResponse", s.SignupResultSerializer), **ENVELOPE_ERRORS, 403: EnvelopeErrorSerializer},
        description="Register (004). Open when D2D_OPEN_SIGNUP is on (the embedded default); "
        "otherwise 403 and staff create users through /api/v1/auth/users, the admin or manage.py.",
    )
    def post(self, request):
        payload = s.SignupSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        user = services.user_signup(**payload.validated_data)
        return self.ok({"email": user.email, "username": user.username}, message="user created")


class LoginView(CredentialsCheckingView):
    contract = ENVELOPE
    authentication_classes = []
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        tags=["auth"],
        request=s.CredentialsSerializer,
        responses={200: envelope_of("LoginResponse", s.UsernameSerializer), **ENVELOPE_ERRORS},
        description="Log in (004); sets the session cookie. Repeated failures of one username from one address "
        "lock that pair for a while (429), even for the right password.",
    )
    def post(self, request):
        payload = s.CredentialsSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        user = check_credentials(request, **payload.validated_data)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return self.ok({"username": user.username}, message="login successful")


class AuthCheckView(ContractView):
    contract = ENVELOPE

    @extend_schema(
        tags=["auth"], responses={200: envelope_of("AuthResponse", s.UsernameSerializer), 401: EnvelopeErrorSerializer}
    )
    def get(self, request):
        return self.ok({"username": request.user.username}, message="authenticated")


class LogoutView(ContractView):
    contract = ENVELOPE
    permission_classes = [permissions.AllowAny]

    @extend_schema(tags=["auth"], request=None, responses={200: envelope_of("LogoutResponse", s.UsernameSerializer)})
    def post(self, request):
        username = request.user.username if request.user.is_authenticated else ""
        logout(request)
        return self.ok({"username": username}, message="logged out")


class TokenView(CredentialsCheckingView):
    """000's auth service: a username and password give an API token; DELETE revokes the token in use."""

    def get_permissions(self):
        if self.request.method == "POST":
            return [permissions.AllowAny()]
        return [permissions.IsAuthenticated()]

    def get_authenticators(self):
        if self.request is not None and self.request.method == "POST":
            return []
        return super().get_authenticators()

    @extend_schema(tags=["auth"], request=s.TokenRequestSerializer, responses={201: s.IssuedTokenSerializer})
    def post(self, request):
        payload = s.TokenRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        user = check_credentials(request, payload.validated_data["username"], payload.validated_data["password"])
        clear_failures(request, payload.validated_data["username"])  # no session login here to clear them
        token, plain = services.token_issue(user=user, name=payload.validated_data["name"] or "api")
        return self.ok(
            {"access_token": plain, "token_type": "bearer", "token_id": token.id, "expires_at": token.expires_at},
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(tags=["auth"], responses={204: None, 400: OpenApiResponse(description="not a d2d token")})
    def delete(self, request):
        if not isinstance(request.auth, ApiToken):
            raise DomainError("this request was not made with a d2d API token; revoke tokens by id instead")
        services.token_revoke(token=request.auth)
        return self.ok(None, status=status.HTTP_204_NO_CONTENT)


class MeView(ContractView):
    @extend_schema(tags=["auth"], responses={200: s.MeSerializer})
    def get(self, request):
        user = request.user
        memberships = Membership.objects.filter(user=user, project__deleted_at__isnull=True).select_related("project")
        return self.ok(
            {
                "id": user.id,
                "username": user.username,
                "email": user.email,
                "is_staff": user.is_staff,
                "projects": [{"id": m.project.id, "name": m.project.name, "role": m.role} for m in memberships],
            }
        )


class TokenListView(ContractView):
    @extend_schema(tags=["auth"], responses={200: s.ApiTokenSerializer(many=True)})
    def get(self, request):
        return self.ok(s.ApiTokenSerializer(ApiToken.objects.filter(user=request.user), many=True).data)


class TokenDetailView(ContractView):
    @extend_schema(tags=["auth"], responses={200: s.ApiTokenSerializer})
    def delete(self, request, token_id: int):
        token = get_object_or_404(ApiToken.objects.filter(user=request.user), pk=token_id)
        return self.ok(s.ApiTokenSerializer(services.token_revoke(token=token)).data)


class UserCreateView(ContractView):
    """Staff-only registration, for deployments where /signup is closed."""

    permission_classes = [permissions.IsAdminUser]

    @extend_schema(tags=["auth"], request=s.UserCreateSerializer, responses={201: s.SignupResultSerializer})
    def post(self, request):
        payload = s.UserCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        user = services.user_create(**payload.validated_data)
        return self.ok({"email": user.email, "username": user.username}, status=status.HTTP_201_CREATED)


class ProjectListView(ContractView):
    @extend_schema(tags=["projects"], responses={200: s.ProjectSerializer(many=True)})
    def get(self, request):
        roles = dict(Membership.objects.filter(user=request.user).values_list("project_id", "role"))
        projects = Project.objects.for_user(request.user)
        return self.ok(
            [{"id": p.id, "name": p.name, "description": p.description, "role": roles.get(p.id)} for p in projects]
        )


class MemberListView(ContractView):
    """Members of a project: any member reads, owners add."""

    @extend_schema(tags=["projects"], responses={200: s.MembershipSerializer(many=True)})
    def get(self, request, project_id: str):
        project = project_for_user(request.user, project_id)
        return self.ok(s.MembershipSerializer(project.memberships.select_related("user"), many=True).data)

    @extend_schema(tags=["projects"], request=s.MembershipWriteSerializer, responses={201: s.MembershipSerializer})
    def post(self, request, project_id: str):
        project = project_for_user(request.user, project_id, role=Role.OWNER)
        payload = s.MembershipWriteSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        user = get_object_or_404(User, username=payload.validated_data["username"])
        membership = services.membership_set(project=project, user=user, role=payload.validated_data["role"])
        return self.ok(s.MembershipSerializer(membership).data, status=status.HTTP_201_CREATED)


class MemberDetailView(ContractView):
    @extend_schema(tags=["projects"], request=s.RoleSerializer, responses={200: s.MembershipSerializer})
    def put(self, request, project_id: str, username: str):
        project = project_for_user(request.user, project_id, role=Role.OWNER)
        payload = s.RoleSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        user = get_object_or_404(User, username=username, memberships__project=project)
        membership = services.membership_set(project=project, user=user, role=payload.validated_data["role"])
        return self.ok(s.MembershipSerializer(membership).data)

    @extend_schema(tags=["projects"], responses={204: None})
    def delete(self, request, project_id: str, username: str):
        project = project_for_user(request.user, project_id, role=Role.OWNER)
        user = get_object_or_404(User, username=username)
        services.membership_remove(project=project, user=user)
        return self.ok(None, status=status.HTTP_204_NO_CONTENT)
