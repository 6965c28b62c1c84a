"""HTTP pieces every contract shares: envelopes, the exception handler, base views."""
