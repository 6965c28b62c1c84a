"""OLake server API: sources, destinations, jobs, syncs and their logs."""
