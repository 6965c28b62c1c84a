"""HTTP endpoints of accounts: 004's login flow, 000's auth service, projects and members."""
