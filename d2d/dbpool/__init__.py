"""Database backends of d2d (see d2d/dbpool/sqlite3/base.py)."""
