"""The runtime package's modules import each other in one direction only: no import cycle, also
not through imports inside functions (bundled.py and detector.py used to import each other)."""

from __future__ import annotations

import ast
from pathlib import Path

import edge_emotion_runtime

PACKAGE = Path(edge_emotion_runtime.__file__).resolve().parent


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Module -> the package's modules it imports anywhere in its text (functions included)."""
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                targets = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            else:
                continue
            graph[name].update(t for t in targets if t in modules and t != name)
    return graph


def cycle_from(start: str, graph: dict[str, set[str]]) -> list[str] | None:
    """A path start -> ... -> start, or None."""
    stack, seen = [(start, [start])], set()
    while stack:
        node, path = stack.pop()
        for nxt in graph[node]:
            if nxt == start:
                return [*path, start]
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, [*path, nxt]))
    return None


def test_the_import_graph_sees_imports_inside_functions() -> None:
    graph = import_graph()
    # detector.py imports bundled at the top, photo.py imports bundled inside PhotoClassifier.load.
    assert "edge_emotion_runtime.bundled" in graph["edge_emotion_runtime.detector"]
    assert "edge_emotion_runtime.bundled" in graph["edge_emotion_runtime.photo"]


def test_no_runtime_module_imports_itself_through_others() -> None:
    graph = import_graph()
    cycles = [c for c in (cycle_from(m, graph) for m in sorted(graph)) if c]
    assert cycles == []
