"""Template tags of the admin console."""
