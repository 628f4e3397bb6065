"""The product package's boundaries: no import cycles, no imports of the developer tooling or the local
services, and hooks that are providers-http hooks."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from airflow.providers.http.hooks.http import HttpHook

from bcsync.hooks import BusinessCentralHook, DataverseHook

PACKAGE = Path(__file__).resolve().parents[2] / "plugins" / "bcsync"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(node: ast.AST, module: str) -> Iterator[str]:
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
    elif isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:  # relative import
            base = ".".join(module.split(".")[: -node.level] + ([base] if base else []))
        yield base
        yield from (f"{base}.{alias.name}" for alias in node.names)


def sources() -> dict[str, ast.Module]:
    return {module_name(path): ast.parse(path.read_text()) for path in PACKAGE.rglob("*.py")}


def test_no_module_imports_itself_back_through_others():
    # Every import counts, also those deferred into functions (a cycle that only a lazy import hides
    # is still one module depending on another that depends on it).
    trees = sources()
    graph = {
        name: {t for node in ast.walk(tree) for t in imported(node, name) if t in trees and t != name}
        for name, tree in trees.items()
    }
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str], on_path: set[str], done: set[str]) -> None:
        for target in sorted(graph[node]):
            if target in on_path:
                cycles.append([*path[path.index(target) :], target])
            elif target not in done:
                visit(target, [*path, target], on_path | {target}, done)
        done.add(node)

    done: set[str] = set()
    for start in sorted(graph):
        if start not in done:
            visit(start, [start], {start}, done)
    # A package imports its own modules from __init__: that is not a cycle through the package, from
    # whichever of its modules the walk happened to enter it.
    real = [
        c for c in cycles if not all(m == min(c, key=len) or m.startswith(min(c, key=len) + ".") for m in c)
    ]
    assert real == []


def test_the_product_never_imports_the_local_services_or_the_developer_tooling():
    offenders = {
        name: target
        for name, tree in sources().items()
        for node in ast.walk(tree)
        for target in imported(node, name)
        if target.split(".")[0] in ("sandbox", "bcsync_dev")
    }
    assert offenders == {}


def test_the_hooks_are_http_hooks_of_the_http_provider():
    assert issubclass(BusinessCentralHook, HttpHook)
    assert issubclass(DataverseHook, HttpHook)
