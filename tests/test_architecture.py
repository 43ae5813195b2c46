"""The shape of the package: layers, sizes, private names, cheap fronts, one params reader.

The figures behind these limits, before and after the one-folder-per-stage layout, are in
benchmarks/results_architecture.md (``python benchmarks/architecture.py``).
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "amtools"
LONG_MODULE = 800
LONG_FUNCTION = 120
SOURCES = sorted(p for p in PACKAGE.rglob("*.py"))


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _stage(module: str) -> str:
    return ".".join(module.split(".")[:2])


def test_the_layer_contracts_hold() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run(
        [str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


def test_no_module_is_longer_than_the_limit() -> None:
    long = {
        str(p.relative_to(ROOT)): n
        for p in SOURCES
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > LONG_MODULE
    }
    assert not long, f"split these modules by responsibility (limit {LONG_MODULE} lines): {long}"


def test_a_long_function_says_why() -> None:
    unexplained = []
    for path in SOURCES:
        lines = path.read_text(encoding="utf-8").splitlines()
        for node in ast.walk(ast.parse("\n".join(lines))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                size = (node.end_lineno or node.lineno) - node.lineno + 1
                head = " ".join(lines[node.lineno - 1 : node.body[0].lineno])
                if size > LONG_FUNCTION and "# long:" not in head:
                    unexplained.append(f"{_module(path)}.{node.name} ({size} lines)")
    assert not unexplained, (
        f"functions over {LONG_FUNCTION} lines need a '# long: <reason>' comment on their "
        f"def line, or a split: {unexplained}"
    )


def _imports(path: Path) -> list[tuple[str, str]]:
    """(module, name) of every ``from X import name`` in ``path`` (relative ones resolved)."""
    module = _module(path)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            out += [(source, alias.name) for alias in node.names]
    return out


def test_no_private_name_crosses_a_package_boundary() -> None:
    crossing = []
    for path in SOURCES:
        here = _module(path)
        package = here if path.name == "__init__.py" else here.rsplit(".", 1)[0]
        for source, name in _imports(path):
            private = name.startswith("_") and not name.startswith("__")
            if private and source.startswith("amtools") and not source.startswith(package):
                crossing.append(f"{here} imports {source}.{name}")
    assert not crossing, f"make these public in the module that owns them: {crossing}"


def test_the_code_a_report_kernel_imports_for_its_housekeeping_is_light() -> None:
    # every kernel start imports it: papermill and nbformat there cost about 2 s each time
    code = (
        "import sys, amtools.render.notebooks.inkernel\n"
        "print(','.join(m for m in ('papermill', 'nbformat', 'jupyter_client', 'pandas')"
        " if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "", f"the in-kernel module pulled in {done.stdout}"


def test_the_kpi_catalogue_imports_without_the_engine() -> None:
    code = (
        "import sys, amtools.kpi.registry\n"
        "heavy = [m for m in ('scipy', 'statsmodels', 'matplotlib', 'amtools.kpi.computation',"
        " 'amtools.render', 'papermill') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "", f"import amtools.kpi.registry pulled in {done.stdout}"


FRONTS = sorted(p.with_suffix(".py") for p in PACKAGE.rglob("__init__.pyi"))


@pytest.mark.parametrize("front", FRONTS, ids=[_module(p) for p in FRONTS])
def test_every_name_of_a_package_front_resolves(front: Path) -> None:
    package = importlib.import_module(_module(front))
    missing = []
    for name in package.__all__:
        try:
            getattr(package, name)
        except (AttributeError, ImportError) as exc:
            missing.append(f"{name}: {exc}")
    assert not missing, missing


def test_every_package_has_a_lazy_front() -> None:
    packages = sorted(p.parent for p in SOURCES if p.name == "__init__.py")
    eager = [
        str(p.relative_to(ROOT))
        for p in packages
        if not (p / "__init__.pyi").is_file()
        or "attach_stub" not in (p / "__init__.py").read_text()
    ]
    assert not eager, f"these packages need an __init__.pyi and lazy_loader.attach_stub: {eager}"


def test_only_core_reads_yaml_files() -> None:
    allowed = {"amtools.core.settings.reader", "amtools.core.i18n"}
    readers = [
        _module(p)
        for p in SOURCES
        if re.search(r"\byaml\.(safe_)?load\(", p.read_text(encoding="utf-8"))
        and _module(p) not in allowed
    ]
    assert not readers, f"parameter files are read by amtools.core.settings only: {readers}"


def test_no_reference_to_a_document_the_repository_lacks() -> None:
    texts = [
        *SOURCES,
        *ROOT.glob("docs/*.md"),
        ROOT / "README.md",
        *ROOT.glob("notebooks/*.ipynb"),
        *ROOT.glob("params/**/*.yaml"),
        *PACKAGE.glob("core/locales/*.yaml"),
    ]
    broken = []
    for path in texts:
        text = path.read_text(encoding="utf-8")
        if "DESIGN §" in text or "DESIGN.md" in text:
            broken.append(f"{path.relative_to(ROOT)} cites DESIGN")
        for ref in set(re.findall(r"\bdocs/[\w./-]+\.md\b", text)):
            if not (ROOT / ref).is_file():
                broken.append(f"{path.relative_to(ROOT)} cites {ref}")
    assert not broken, broken


def test_ruff_is_clean_on_code_tests_benchmarks_and_notebooks() -> None:
    ruff = Path(sys.executable).with_name("ruff")
    targets = ["amtools", "tests", "benchmarks", "notebooks"]
    done = subprocess.run(
        [str(ruff), "check", "--no-cache", *targets], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout[-4000:]
    fmt = subprocess.run(
        [str(ruff), "format", "--check", "--no-cache", "amtools", "tests", "benchmarks"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert fmt.returncode == 0, fmt.stdout[-4000:]


def test_every_module_a_warm_kernel_preloads_exists() -> None:
    from amtools.render.notebooks.inkernel import WARM_MODULES

    missing = [name for name in WARM_MODULES if importlib.util.find_spec(name) is None]
    assert not missing, f"WARM_MODULES names modules that do not exist: {missing}"
