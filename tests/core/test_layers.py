"""The apps import in one direction (DESIGN.md "Direction of imports"), and this checks it.

Every app module is parsed, module-level and in-function imports alike (``TYPE_CHECKING``
imports count too: a type names its app). Interface modules (the HTTP API, views, urls,
admin, forms, serializers, management commands, template tags) are screens on top of every
app and may import anything, as ``shared/tools/appgraph.py`` classifies them.

Today's upward edges are listed in ``KNOWN_VIOLATIONS``, each with the issue item that
removes it. The test fails on an edge that is not listed, and on a listed edge that no
longer exists, so the list can only shrink.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

APPS = (
    "core",
    "tenants",
    "customers",
    "subscriptions",
    "billing",
    "dunning",
    "notifications",
    "reports",
    "portal",
    "dashboard",
    "config",
)
# An app may import only apps of a lower rank. Notifications reads events only and sits
# with dunning (neither imports the other); screens sit on top; config wires everything.
RANK = {
    "core": 0,
    "tenants": 1,
    "customers": 2,
    "subscriptions": 3,
    "billing": 4,
    "dunning": 5,
    "notifications": 5,
    "reports": 6,
    "portal": 7,
    "dashboard": 7,
    "config": 9,
}
# Spelled out in DESIGN.md and issue 11; the ranks already forbid them, this names them.
NEVER = {("core", app) for app in APPS if app != "core"} | {
    ("subscriptions", "billing"),
    ("billing", "dunning"),
    ("tenants", "dunning"),
}

INTERFACE_FILES = {"api.py", "views.py", "urls.py", "admin.py", "forms.py", "serializers.py"}
INTERFACE_DIRS = {"api", "views", "management", "templatetags"}

# Upward edges (importer, imported) that exist today, each with the item of issue 11 that
# removes it. Delete a line in the commit that removes its last import.
KNOWN_VIOLATIONS: dict[tuple[str, str], str] = {}


def is_interface(relative: Path) -> bool:
    return relative.name in INTERFACE_FILES or any(
        d in INTERFACE_DIRS for d in relative.parts[1:-1]
    )


def _module_name(relative: Path) -> str:
    parts = list(relative.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(tree: ast.AST, module: str, is_package: bool) -> list[tuple[str, int]]:
    """Absolute names of every module imported anywhere in ``tree``, with line numbers."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                base = node.module or ""
            else:  # relative: resolve against this module's package
                package = module.split(".")
                if not is_package:
                    package.pop()
                package = package[: len(package) - (node.level - 1)]
                base = ".".join([*package, *([node.module] if node.module else [])])
            found.append((base, node.lineno))
    return found


def app_edges() -> tuple[dict[tuple[str, str], list[str]], int]:
    """(importer app, imported app) -> where, for non-interface modules; and how many
    cross-app imports the interface modules make (not judged)."""
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    interface_imports = 0
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if "migrations" in relative.parts:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(relative))
            module = _module_name(relative)
            for name, line in imported_modules(tree, module, path.name == "__init__.py"):
                target = name.split(".")[0]
                if target not in APPS or target == app:
                    continue
                if is_interface(relative):
                    interface_imports += 1
                else:
                    edges[(app, target)].append(f"{relative}:{line}")
    return dict(edges), interface_imports


def against_the_direction(pairs: set[tuple[str, str]]) -> set[tuple[str, str]]:
    return {(a, b) for a, b in pairs if RANK[b] >= RANK[a] or (a, b) in NEVER}


def cycles(pairs: set[tuple[str, str]]) -> list[list[str]]:
    """The strongly connected components with more than one app (Tarjan)."""
    graph: dict[str, set[str]] = defaultdict(set)
    for a, b in pairs:
        graph[a].add(b)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted({app for pair in pairs for app in pair}):
        if node not in index:
            visit(node)
    return found


def graph_report(edges: dict[tuple[str, str], list[str]], interface_imports: int) -> str:
    bad = against_the_direction(set(edges))
    lines = [
        f"app import graph: {len(edges)} edges between apps "
        f"(+{interface_imports} imports from interface modules, not judged)"
    ]
    for app in APPS:
        targets = sorted((b for a, b in edges if a == app), key=lambda b: RANK[b])
        marked = [f"{b}{' (AGAINST)' if (app, b) in bad else ''}" for b in targets]
        lines.append(f"  {app:<13} -> {', '.join(marked) or '-'}")
    lines += [f"  cycle: {' <-> '.join(component)}" for component in cycles(set(edges))]
    return "\n".join(lines)


def test_imports_between_apps_follow_the_direction() -> None:
    edges, interface_imports = app_edges()
    print(graph_report(edges, interface_imports))  # noqa: T201  (shown with -s or on failure)
    bad = against_the_direction(set(edges))
    new = sorted(bad - set(KNOWN_VIOLATIONS))
    gone = sorted(set(KNOWN_VIOLATIONS) - bad)
    problems = [
        f"{a} -> {b} breaks the direction (DESIGN.md), at {', '.join(edges[(a, b)])}"
        for a, b in new
    ] + [
        f"{a} -> {b} no longer exists: remove it from KNOWN_VIOLATIONS ({KNOWN_VIOLATIONS[(a, b)]})"
        for a, b in gone
    ]
    assert not problems, "\n".join(problems)


def test_the_app_graph_has_no_cycle_but_through_a_known_violation() -> None:
    edges, _ = app_edges()
    # Each cycle today runs through a listed upward edge; once they are gone, none remains.
    remaining = cycles(set(edges) - set(KNOWN_VIOLATIONS))
    assert not remaining, f"import cycles between apps: {remaining}"


def test_the_check_sees_in_function_and_relative_imports() -> None:
    source = (
        "import core.money\n"
        "from . import models\n"
        "from ..billing import services\n"
        "def f():\n"
        "    from dunning.services import case_open\n"
    )
    found = imported_modules(ast.parse(source), "subscriptions.engine", is_package=False)
    assert [name for name, _ in found] == [
        "core.money",
        "subscriptions",
        "billing",
        "dunning.services",
    ]
    assert against_the_direction({("subscriptions", "billing"), ("billing", "subscriptions")}) == {
        ("subscriptions", "billing")
    }
    assert cycles({("a", "b"), ("b", "a"), ("b", "c")}) == [["a", "b"]]
    assert is_interface(Path("billing/api.py"))
    assert is_interface(Path("tenants/management/commands/create_tenant.py"))
    assert not is_interface(Path("billing/services.py"))
