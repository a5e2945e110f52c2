"""The layout tells the data flow: no import circle anywhere in the package (lazy imports
inside functions included), and the library never imports the experiments."""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "minifa"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Every minifa module ``path`` imports, at any depth of its code."""
    name, found = module_name(path), set()
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("minifa")}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            if base.startswith("minifa"):
                found.add(base)
                found |= {f"{base}.{a.name}" for a in node.names}
    return found


def graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {m: {i for i in imports(p) if i in modules and i != m} for m, p in modules.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Import circles, each as a path that returns to its start (depth-first search)."""
    found, state = [], {}

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(edges[node]):
            if state.get(nxt) == "open":
                found.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    return found


def without_packages(edges):
    """A package's ``__init__`` importing its own submodules is not a circle of the data
    flow (``minifa.rules`` registers its rule files); a submodule importing its parent is."""
    return {m: {i for i in out if not i.startswith(m + ".")} for m, out in edges.items()}


def test_no_import_circle():
    assert cycles(without_packages(graph())) == []


def test_the_cycle_finder_finds_a_circle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_library_never_imports_the_experiments():
    library = {m: out for m, out in graph().items()
               if not m.startswith(("minifa.experiments", "minifa.cli", "minifa.plots"))}
    assert {m: sorted(o) for m, o in library.items() if any(i.startswith("minifa.experiments") for i in o)} == {}


# What picks a code path from a module's shape rather than from a declared object: an
# attribute probe, a source parse, a name built from a module's file name.
SHAPE_PROBES = re.compile(r"\bhasattr\(|^\s*(import ast\b|from ast import)|__name__\.rsplit\(|find_spec\(", re.M)


def shape_probes(text: str) -> list[str]:
    return [m.group(0).strip() for m in SHAPE_PROBES.finditer(text)]


def test_the_probe_finder_finds_probes():
    assert shape_probes("if hasattr(m, 'NAME'):\nimport ast\nx = f'{m.__name__.rsplit(1)}'") == [
        "hasattr(", "import ast", "__name__.rsplit("]
    assert shape_probes("figure = vars(module).get('FIGURE')\nlast = ast_like\n") == []


def test_figures_are_objects_not_module_shapes():
    """Experiments and plots find a figure by its ``FIGURE = Experiment(...)`` and its plot by
    the name the figure declares: no ``hasattr``, ``ast`` or file-name lookup picks a path."""
    found = {str(p.relative_to(PACKAGE)): shape_probes(p.read_text())
             for folder in ("experiments", "plots") for p in sorted((PACKAGE / folder).glob("*.py"))}
    assert {path: probes for path, probes in found.items() if probes} == {}
