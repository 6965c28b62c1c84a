"""The import graph of d2d's own packages, read from the source with ast (nothing is imported).

An edge is one module naming another in an import statement, at the top of the module or inside
a function. A package's ``__init__`` counts as a module of its own only when it holds code;
``from package import name`` is an edge to ``package.name`` when that is a module.
"""

import ast
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
APPS = ("kernel", "accounts", "pipelines", "conversions", "compute", "labeling")
CONFIGURATION = "d2d"


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    line: int
    in_function: str | None  # the enclosing function's name; None at module level


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules(packages=(*APPS, CONFIGURATION)) -> dict[str, Path]:
    return {module_name(path): path for package in packages for path in sorted((REPO / package).rglob("*.py"))}


class ImportCollector(ast.NodeVisitor):
    def __init__(self, importer: str, known: dict[str, Path]):
        self.importer, self.known = importer, known
        self.functions: list[str] = []
        self.found: list[Import] = []

    def visit_function(self, node):
        self.functions.append(getattr(node, "name", "<lambda>"))
        self.generic_visit(node)
        self.functions.pop()

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = visit_function

    def visit_Import(self, node):
        self.record(node, {alias.name for alias in node.names})

    def visit_ImportFrom(self, node):
        source = self.absolute(node)
        self.record(node, {source} | {f"{source}.{alias.name}" for alias in node.names})

    def absolute(self, node: ast.ImportFrom) -> str:
        """The module a ``from … import`` names, a relative one resolved against the importer's package."""
        if not node.level:
            return node.module or ""
        is_package = self.known[self.importer].name == "__init__.py"
        package = (self.importer if is_package else self.importer.rpartition(".")[0]).split(".")
        return ".".join(package[: len(package) - (node.level - 1)] + ([node.module] if node.module else []))

    def record(self, node, names: set[str]):
        for name in sorted(names):
            if name in self.known and name != self.importer and not self._empty_package(name):
                self.found.append(Import(self.importer, name, node.lineno, self.functions[-1] if self.functions else None))

    def _empty_package(self, name: str) -> bool:
        """An ``__init__`` with nothing but a docstring: importing through it is no edge."""
        path = self.known[name]
        if path.name != "__init__.py":
            return False
        body = ast.parse(path.read_text()).body
        return all(isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) for node in body)


def all_imports(known: dict[str, Path] | None = None) -> list[Import]:
    known = known if known is not None else modules()
    found = []
    for name, path in known.items():
        collector = ImportCollector(name, known)
        collector.visit(ast.parse(path.read_text(), filename=str(path)))
        found += collector.found
    return found


def graph(imports: list[Import], known: dict[str, Path]) -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {name: set() for name in known}
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


def package_of(module: str) -> str:
    return module.partition(".")[0]
