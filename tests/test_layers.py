"""The package's architecture, checked: no module imports a module of a higher layer, no import
cycle (lazy imports inside functions count too), and no module over 500 lines unless its
docstring says which one cohesive class needs it (docs/architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "muscle_atlas"
# Lowest first: a module may import its own layer and the layers below it.
LAYERS = [
    {"errors", "yamlio", "choices", "suffixes", "demo", ""},  # "": the package itself (__version__)
    {"sources"},
    {"anatomy"},
    {"geometry", "quantities"},
    {"render"},
    {"subject"},
    {"web"},
    {"site", "study"},
    {"config"},
    {"commands"},
    {"cli", "__main__"},
]
MAX_LINES = 500


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(("muscle_atlas", *parts))] = path
    return found


def _imports(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Module → the package's modules it imports (``from a import b``: the submodule a.b if it is one)."""
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets: set[str] = set()
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets.update(a.name for a in node.names if a.name.startswith("muscle_atlas"))
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: from the package, up level - 1
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*parts, base] if base else parts)
                if not base.startswith("muscle_atlas"):
                    continue
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    targets.add(sub if sub in modules else base)
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def _layer(module: str) -> int:
    top = module.split(".")[1] if "." in module else ""
    return next(i for i, names in enumerate(LAYERS) if top in names)


def test_every_module_has_a_layer() -> None:
    for module in _modules():
        _layer(module)


def test_no_module_imports_a_higher_layer() -> None:
    graph = _imports(_modules())
    wrong = [f"{a} (layer {_layer(a)}) imports {b} (layer {_layer(b)})"
             for a, targets in sorted(graph.items()) for b in sorted(targets) if _layer(b) > _layer(a)]  # fmt: skip
    assert not wrong, "\n".join(wrong)


def test_no_import_cycles() -> None:
    graph = _imports(_modules())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    assert not cycles, "import cycles: " + "; ".join(" ↔ ".join(c) for c in cycles)


def test_modules_are_short_or_say_why() -> None:
    long = []
    for name, path in _modules().items():
        text = path.read_text(encoding="utf-8")
        lines = text.count("\n")
        docstring = ast.get_docstring(ast.parse(text)) or ""
        if lines > MAX_LINES and "one cohesive class" not in docstring:
            long.append(f"{name}: {lines} lines")
    assert not long, "\n".join(long)
