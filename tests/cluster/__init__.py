"""d2d across hosts: a cluster of network namespaces, hosts lost mid-run, nothing lost (issue 25)."""
