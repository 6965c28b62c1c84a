"""The shape of the code: imports run one way, the kernel names no app, d2d/ is configuration only.

Layers, lowest first: the kernel; accounts; the feature apps (pipelines, conversions, compute,
labeling), which do not import each other; d2d's URLconf and entry points, which compose them.
d2d.env (reading the environment) imports nothing of d2d's
own, so any module may use it. The graph is read from the source (tests/support/import_graph.py).
"""

import ast
import importlib
import re

import pytest

from tests.support.import_graph import (
    APPS,
    CONFIGURATION,
    REPO,
    Import,
    ImportCollector,
    all_imports,
    find_cycle,
    graph,
    modules,
    package_of,
)

KNOWN = modules()
IMPORTS = all_imports(KNOWN)
FEATURE_APPS = {"pipelines", "conversions", "compute", "labeling"}
LEAVES = ("d2d.env",)  # configuration any layer may read
CONFIGURATION_MODULES = {"d2d", "d2d.settings", "d2d.env", "d2d.urls", "d2d.asgi", "d2d.wsgi", "d2d.routing"}
ALLOWED = {
    "kernel": {"kernel"},
    "accounts": {"kernel", "accounts"},
    **{app: {"kernel", "accounts", app} for app in FEATURE_APPS},
    CONFIGURATION: {CONFIGURATION, *APPS},
}


def is_leaf(module: str) -> bool:
    return any(module == leaf or module.startswith(leaf + ".") for leaf in LEAVES)


def described(items: list[Import]) -> list[str]:
    return [f"{item.importer} line {item.line} imports {item.imported}" for item in items]


def test_it_sees_the_imports_it_checks():
    """A parser that found nothing would pass every test below: check it on edges that must be there."""
    edges = graph(IMPORTS, KNOWN)
    assert {"kernel.handlers", "kernel.models", "kernel.logs"} <= edges["kernel.runner"]
    assert "accounts.models" in edges["accounts.ws_auth"]
    assert "compute.conf" in edges["compute.fetch"], "from compute import conf is an edge to compute.conf"
    assert "conversions.converters.ocr" in edges["conversions.converters"], "a package __init__ with code is a module"
    assert {"accounts.ws_auth", "d2d.routing"} <= edges["d2d.asgi"]


def test_it_finds_a_cycle_and_an_import_in_a_function():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) == []
    collector = ImportCollector("kernel.models", KNOWN)
    collector.visit(ast.parse("class M:\n    def sweep(self):\n        from kernel.runner import execute\n"))
    assert collector.found == [Import("kernel.models", "kernel.runner", 3, in_function="sweep")]


@pytest.mark.parametrize("name", sorted(KNOWN))
def test_every_module_imports(name):
    """What the graph reads must also load: a rename anywhere fails here, not when the code path first runs."""
    importlib.import_module(name)


def test_it_has_no_import_cycle():
    cycle = find_cycle(graph(IMPORTS, KNOWN))
    assert cycle == [], "import cycle: " + " -> ".join(cycle)


def test_it_imports_inside_a_function_only_in_an_app_config_ready():
    """Django's one place for a late import is AppConfig.ready(); anywhere else it would hide a cycle."""
    late = [item for item in IMPORTS if item.in_function and not (item.importer.endswith(".apps") and item.in_function == "ready")]
    assert described(late) == [], "move the import to the top of the module; if that makes a cycle, split the module"


def test_the_kernel_imports_no_app_and_no_configuration():
    upward = [item for item in IMPORTS if package_of(item.importer) == "kernel" and package_of(item.imported) != "kernel"]
    assert described(upward) == []


def names_a_module_or_model(value: str) -> bool:
    """Whether a string is a dotted path ("d2d.asgi:application") or a model label ("accounts.Project")."""
    path = re.split(r"[:\s]", value, maxsplit=1)[0]
    if re.fullmatch(rf"({'|'.join(APPS)})\.[A-Z]\w*", path):
        return True
    parts = path.split(".")
    return any(".".join(parts[:end]) in KNOWN for end in range(2, len(parts) + 1))


def test_the_kernel_names_no_app_in_a_string():
    """A dotted path or model label in a string is an import the graph cannot see."""
    found = []
    for name, path in KNOWN.items():
        if package_of(name) != "kernel" or ".migrations." in name:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
                continue
            if package_of(node.value) != "kernel" and names_a_module_or_model(node.value):
                found.append(f"{name} line {node.lineno}: {node.value!r}")
    assert found == []
    assert names_a_module_or_model("accounts.Project") and names_a_module_or_model("d2d.asgi:application")
    assert not names_a_module_or_model("d2d.tasks"), "a logger's name is no module"


def test_each_layer_imports_only_its_own_and_those_below():
    crossing = [
        item
        for item in IMPORTS
        if not is_leaf(item.imported) and package_of(item.imported) not in ALLOWED[package_of(item.importer)]
    ]
    assert described(crossing) == []


def test_the_configuration_leaves_import_nothing_of_d2d():
    leaf_imports = [item for item in IMPORTS if is_leaf(item.importer) and not is_leaf(item.imported)]
    assert described(leaf_imports) == []


def test_d2d_holds_configuration_only():
    extra = {name for name in KNOWN if package_of(name) == CONFIGURATION and not is_leaf(name)} - CONFIGURATION_MODULES
    assert extra == set(), f"d2d/ is settings, env, urls, entry points and the database backends: move {sorted(extra)} to an app"
    assert not (REPO / CONFIGURATION / "kernel").exists()
