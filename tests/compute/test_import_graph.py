"""compute's modules import one way: no cycle, and no import of a compute module inside a function to hide one."""

import ast
from dataclasses import dataclass
from pathlib import Path

import compute

ROOT = Path(compute.__file__).resolve().parent
PACKAGE = "compute"


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    line: int
    in_function: bool


def module_name(path: Path) -> str:
    parts = [PACKAGE, *path.relative_to(ROOT).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(ROOT.rglob("*.py"))}


def is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def absolute(importer: str, node: ast.ImportFrom) -> str:
    """The module a ``from … import`` names, with a relative one resolved against the importer's package."""
    if not node.level:
        return node.module or ""
    package = importer if is_package(importer) else importer.rpartition(".")[0]
    base = package.split(".")
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def targets(importer: str, node: ast.Import | ast.ImportFrom) -> set[str]:
    """The compute modules one import statement loads (``from compute import x`` loads compute.x)."""
    if isinstance(node, ast.Import):
        found = {alias.name for alias in node.names}
    else:
        source = absolute(importer, node)
        found = {source}
        found |= {f"{source}.{alias.name}" for alias in node.names if f"{source}.{alias.name}" in MODULES}
    # A package's __init__ holds nothing here: only its submodules count as edges.
    return {name for name in found if name in MODULES and not is_package(name) and name != importer}


class ImportCollector(ast.NodeVisitor):
    def __init__(self, importer: str):
        self.importer = importer
        self.depth = 0
        self.found: list[Import] = []

    def visit_function(self, node):
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = visit_function

    def visit_Import(self, node):
        self.record(node)

    def visit_ImportFrom(self, node):
        self.record(node)

    def record(self, node):
        for imported in sorted(targets(self.importer, node)):
            self.found.append(Import(self.importer, imported, node.lineno, in_function=self.depth > 0))


def all_imports() -> list[Import]:
    found = []
    for name, path in MODULES.items():
        collector = ImportCollector(name)
        collector.visit(ast.parse(path.read_text(), filename=str(path)))
        found += collector.found
    return found


def graph(imports: list[Import]) -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {name: set() for name in MODULES}
    for item in imports:
        edges[item.importer].add(item.imported)
    return edges


def find_cycle(edges: dict[str, set[str]]) -> list[str]:
    """One cycle as a path (first module repeated at the end), or [] when the graph has none."""
    done: set[str] = set()
    path: list[str] = []

    def visit(name: str) -> list[str]:
        if name in path:
            return path[path.index(name) :] + [name]
        if name in done:
            return []
        path.append(name)
        for imported in sorted(edges[name]):
            if cycle := visit(imported):
                return cycle
        path.pop()
        done.add(name)
        return []

    for name in sorted(edges):
        if cycle := visit(name):
            return cycle
    return []


def test_it_sees_the_imports_it_checks():
    """A parser that found nothing would pass the tests below: check it on edges that must be there."""
    edges = graph(all_imports())
    assert {"compute.orders", "compute.datasets", "compute.signatures", "compute.models"} <= edges["compute.jobs"]
    assert "compute.jobs" in edges["compute.execution"]
    assert "compute.conf" in edges["compute.fetch"], "from compute import conf is an edge to compute.conf"
    assert {"compute.datasets", "compute.downloads", "compute.jobs", "compute.orders"} <= edges["compute.api.views"]


def test_it_finds_a_cycle_and_an_import_in_a_function():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) == []
    collector = ImportCollector("compute.models")
    collector.visit(ast.parse("class M:\n    def sweep(self):\n        from compute.execution import sweep\n"))
    assert collector.found == [Import("compute.models", "compute.execution", 3, in_function=True)]


def test_it_has_no_import_of_a_compute_module_inside_a_function():
    inside = [f"{item.importer} line {item.line} imports {item.imported}" for item in all_imports() if item.in_function]
    assert inside == [], "move the import to the top of the module; if that makes a cycle, split the module"


def test_it_has_no_import_cycle():
    cycle = find_cycle(graph(all_imports()))
    assert cycle == [], "import cycle: " + " -> ".join(cycle)


def test_it_keeps_models_data_only():
    assert graph(all_imports())["compute.models"] <= {"compute.conf"}, "models imports no other compute module"
