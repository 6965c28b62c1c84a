"""Users, projects (tenants), memberships with roles, API tokens and the login endpoints."""
