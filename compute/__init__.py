"""Ocean Provider API: datasets, signed requests, encrypt, initialize, download, compute jobs."""
