"""The security schemes of accounts' authentication classes, as drf-spectacular describes them.

Imported once from AccountsConfig.ready(), which is what registers the extensions.
"""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.ApiTokenAuthentication"
    name = "d2dToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "d2d_<key>_<secret>",
            "description": "An API token from POST /api/v1/auth/token or manage.py token_issue.",
        }


class SessionScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.CsrfExemptSessionAuthentication"
    name = "sessionCookie"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": "sessionid", "description": "The cookie POST /login sets."}
