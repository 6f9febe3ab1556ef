"""``muscle-atlas kb``: the structure tree, or one structure with its facts."""

from __future__ import annotations

import json
from dataclasses import asdict

from muscle_atlas.anatomy.tree import Structure, StructureTree, load_tree


def structure_record(structure: Structure) -> dict:
    record = {
        "code": structure.code,
        "kind": structure.kind,
        "slug": structure.slug,
        "path": structure.path,
        "name": structure.name,
        "parent": structure.parent.code if structure.parent else None,
        "children": [c.code for c in structure.children],
        "description": structure.description,
        "same_as": structure.same_as,
        "facts": asdict(structure.facts) if structure.facts else None,
    }
    if record["facts"]:
        record["facts"]["synonyms"] = list(record["facts"]["synonyms"])
        record["facts"]["abbreviations"] = list(record["facts"]["abbreviations"])
    return record


def _print_tree(tree: StructureTree) -> None:
    from rich.console import Console
    from rich.tree import Tree

    console = Console()
    for limb in tree.limbs:
        root = Tree(f"[bold]{limb.name}[/] [dim]{limb.code}[/]")
        _add_children(root, limb)
        console.print(root)


def _add_children(node, structure: Structure) -> None:
    from rich.markup import escape

    for child in structure.children:
        label = f"{escape(child.name)} [dim]{child.code} {child.kind} /muscle/{child.path}/[/]"
        if child.same_as:
            label += f" [dim](same as {child.same_as})[/]"
        _add_children(node.add(label), child)


def _print_structure(structure: Structure) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    trail = " › ".join(s.name for s in [*structure.ancestors(), structure])
    console.print(f"[bold]{structure.name}[/]  [dim]{structure.code} · {structure.kind} · /muscle/{structure.path}/[/]")
    console.print(f"[dim]{trail}[/]")
    if structure.description:
        console.print(structure.description)
    if structure.facts:
        table = Table(show_header=False, box=None)
        for key, value in asdict(structure.facts).items():
            if key == "description":
                continue
            text = ", ".join(value) if isinstance(value, tuple) else str(value)
            table.add_row(key.replace("_", " "), text)
        console.print(table)
    if structure.children:
        console.print("contains: " + ", ".join(c.name for c in structure.children))


def run(query: str | None, as_json: bool) -> int:
    tree = load_tree()
    if query:
        structure = tree.get(query)
        if as_json:
            print(json.dumps(structure_record(structure), indent=2, ensure_ascii=False))
        else:
            _print_structure(structure)
        return 0
    if as_json:
        print(json.dumps([structure_record(s) for s in tree], indent=2, ensure_ascii=False))
    else:
        _print_tree(tree)
    return 0
