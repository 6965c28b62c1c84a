"""HTTP side of compute: the 002 Ocean Provider endpoints and the staff publishing API."""
