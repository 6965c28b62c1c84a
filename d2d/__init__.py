"""d2d: a Django platform that moves and converts data."""
