"""A test-only tracked task whose behaviour (sleep, fail N times) is set per row."""
