"""OpenID Connect: admin single sign-on, users and roles from claims, and bearer access tokens for the API.

Active only when OIDC_RP_CLIENT_ID is set (d2d/settings.py); configuring providers: docs/oidc.md.
One module each: ``discovery`` (the provider's endpoints), ``backend`` (claims to users,
identities and roles), ``authentication`` (bearer tokens), ``views`` and ``urls`` (browser sign-in).
"""
