"""URLs of the accounts endpoints; the root ones (004) and /api/v1/auth/ (000) are included from d2d/urls.py."""

from django.urls import path

from accounts.api import views

root_urlpatterns = [
    path("signup", views.SignupView.as_view(), name="signup"),
    path("login", views.LoginView.as_view(), name="login"),
    path("auth", views.AuthCheckView.as_view(), name="auth-check"),
    path("auth/check", views.AuthCheckView.as_view(), name="auth-check-olake"),  # the OLake server's spelling
    path("logout", views.LogoutView.as_view(), name="logout"),
]

auth_service_urlpatterns = [
    path("token", views.TokenView.as_view(), name="auth-token"),
    path("me", views.MeView.as_view(), name="auth-me"),
    path("tokens", views.TokenListView.as_view(), name="auth-tokens"),
    path("tokens/<int:token_id>", views.TokenDetailView.as_view(), name="auth-token-detail"),
    path("users", views.UserCreateView.as_view(), name="auth-users"),
]

project_urlpatterns = [
    path("", views.ProjectListView.as_view(), name="projects"),
    path("<str:project_id>/members", views.MemberListView.as_view(), name="project-members"),
    path("<str:project_id>/members/<str:username>", views.MemberDetailView.as_view(), name="project-member"),
]
