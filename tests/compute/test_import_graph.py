"""compute's sub-domains import one way: models, signatures, datasets, orders, downloads, jobs, execution.

The whole project's graph (no cycle, no late import) is tests/test_architecture.py; this is the order
inside compute, so that a new import that runs backwards fails here with the two modules named.
"""

from tests.support.import_graph import all_imports, graph, modules

KNOWN = modules(("compute",))
EDGES = graph(all_imports(KNOWN), KNOWN)
ORDER = ["compute.models", "compute.signatures", "compute.datasets", "compute.orders", "compute.downloads", "compute.jobs", "compute.execution"]


def test_it_sees_the_imports_it_checks():
    assert {"compute.orders", "compute.datasets", "compute.signatures", "compute.models"} <= EDGES["compute.jobs"]
    assert "compute.jobs" in EDGES["compute.execution"]
    assert {"compute.datasets", "compute.downloads", "compute.jobs", "compute.orders"} <= EDGES["compute.api.views"]


def test_it_keeps_models_data_only():
    assert EDGES["compute.models"] <= {"compute.conf"}, "models imports no other compute module"


def test_each_sub_domain_imports_only_those_before_it():
    backwards = [
        f"{module} imports {imported}"
        for position, module in enumerate(ORDER)
        for imported in EDGES[module]
        if imported in ORDER[position + 1 :]
    ]
    assert backwards == []
