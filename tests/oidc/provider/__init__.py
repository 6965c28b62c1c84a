"""A test-only OpenID Connect provider: django-oauth-toolkit with OIDC on, run in its own process."""
