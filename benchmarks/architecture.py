"""Structure figures of the amtools package: modules, sizes, cycles, private imports, import time.

Run from a checkout (any revision)::

    python benchmarks/architecture.py            # the package beside this script
    python benchmarks/architecture.py --root DIR # another checkout, e.g. a worktree of an old commit

Prints one Markdown block; ``benchmarks/results_architecture.md`` keeps the figures of each
measured revision with its date and machine. Only the standard library is used, so the
script runs on old revisions too; the import time is measured in fresh interpreters of the
current ``sys.executable`` with the measured checkout first on ``PYTHONPATH``.
"""

from __future__ import annotations

import argparse
import ast
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

LONG_FUNCTION = 120
LONG_MODULE = 800


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def package_of(name: str, path: Path) -> str:
    return name if path.name == "__init__.py" else name.rsplit(".", 1)[0]


def stage_of(name: str) -> str:
    """The first level below amtools (``amtools.kpi.computation`` -> ``amtools.kpi``)."""
    return ".".join(name.split(".")[:2])


def scan(root: Path) -> dict[str, object]:
    files = sorted(p for p in (root / "amtools").rglob("*.py") if "_params" not in p.parts)
    modules: dict[str, Path] = {module_name(root, p): p for p in files}
    lines = {m: len(p.read_text(encoding="utf-8").splitlines()) for m, p in modules.items()}
    functions: list[tuple[int, str, bool]] = []
    edges: dict[str, set[str]] = defaultdict(set)
    top_edges: dict[str, set[str]] = defaultdict(set)
    private: list[tuple[str, str, str]] = []
    for name, path in modules.items():
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source)
        text_lines = source.splitlines()
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                size = (node.end_lineno or node.lineno) - node.lineno + 1
                reason = "# long:" in text_lines[node.lineno - 1]
                functions.append((size, f"{name}.{node.name}", reason))
        package = package_of(name, path)
        toplevel = set(id(n) for n in tree.body)
        for node in ast.walk(tree):
            targets: list[tuple[str, list[str]]] = []
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    mod = ".".join(base + ([node.module] if node.module else []))
                else:
                    mod = node.module or ""
                targets.append((mod, [a.name for a in node.names]))
            elif isinstance(node, ast.Import):
                targets += [(a.name, []) for a in node.names]
            for mod, names in targets:
                if not mod.startswith("amtools"):
                    continue
                resolved = []
                for n in names:
                    sub = f"{mod}.{n}"
                    if sub in modules:
                        resolved.append(sub)
                    else:
                        resolved.append(mod)
                        if n.startswith("_") and not n.startswith("__") and mod != name:
                            private.append((name, mod, n))
                for target in resolved or [mod]:
                    if target in modules and target != name:
                        edges[name].add(target)
                        if id(node) in toplevel:
                            top_edges[name].add(target)
    return {
        "modules": modules,
        "lines": lines,
        "functions": sorted(functions, reverse=True),
        "edges": edges,
        "top_edges": top_edges,
        "private": private,
    }


def cycles(edges: dict[str, set[str]], nodes: list[str]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]
    sys.setrecursionlimit(10000)

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in nodes:
        if v not in index:
            visit(v)
    return out


def import_time(root: Path, module: str, runs: int = 5) -> float:
    env = {**os.environ, "PYTHONPATH": str(root)}
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    times = []
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        times.append(float(done.stdout.strip()))
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1])
    args = parser.parse_args()
    root = args.root.resolve()
    s = scan(root)
    modules, lines, functions = s["modules"], s["lines"], s["functions"]
    assert isinstance(modules, dict) and isinstance(lines, dict) and isinstance(functions, list)
    edges, top_edges, private = s["edges"], s["top_edges"], s["private"]
    assert isinstance(edges, dict) and isinstance(top_edges, dict) and isinstance(private, list)
    nodes = sorted(modules)
    stage_edges: dict[str, set[str]] = defaultdict(set)
    for a, targets in edges.items():
        for b in targets:
            if stage_of(a) != stage_of(b):
                stage_edges[stage_of(a)].add(stage_of(b))
    cross_private = [p for p in private if stage_of(p[0]) != stage_of(p[1])]
    print(f"root: {root}")
    print(f"- modules: {len(modules)} ({sum(lines.values()):,} lines)")
    big = sorted(lines.items(), key=lambda kv: -kv[1])
    print(f"- modules over {LONG_MODULE} lines: {sum(1 for _, n in big if n > LONG_MODULE)}")
    print("- longest modules: " + ", ".join(f"{m} {n}" for m, n in big[:6]))
    over = [f for f in functions if f[0] > LONG_FUNCTION]
    print(
        f"- functions over {LONG_FUNCTION} lines: {len(over)} "
        f"({sum(1 for f in over if f[2])} with a written reason)"
    )
    print("- longest functions: " + ", ".join(f"{n} {k}" for k, n, _ in functions[:6]))
    print(f"- module import cycles (all imports): {cycles(edges, nodes)}")
    print(f"- module import cycles (top-level imports): {cycles(top_edges, nodes)}")
    print(f"- stage-level cycles: {cycles(stage_edges, sorted(stage_edges))}")
    print(f"- private names imported from another module: {len(private)}")
    print(f"- ... from another stage's package: {len(cross_private)} {sorted(set(cross_private))}")
    registry = "amtools.kpi.registry"
    print(f"- import {registry}: {import_time(root, registry):.3f} s (best of 5)")
    print(f"- import amtools: {import_time(root, 'amtools'):.3f} s (best of 5)")


if __name__ == "__main__":
    main()
