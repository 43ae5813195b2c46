"""Packaging hygiene: environment.yml mirrors pyproject, notebooks are stripped, layout exists."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]

# conda-forge names differ from PyPI names for a few packages.
CONDA_NAMES = {"duckdb": "python-duckdb"}


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~ \[;]", requirement.strip(), maxsplit=1)[0].lower()


def test_environment_yml_lists_the_same_packages_as_pyproject() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    runtime = {CONDA_NAMES.get(_name(r), _name(r)): r for r in pyproject["project"]["dependencies"]}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = {}
    pip: list[str] = []
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            pip += dep.get("pip", [])
        elif _name(dep) not in ("python", "pip"):
            conda[_name(dep)] = dep
    assert set(conda) == set(runtime), (
        f"only in environment.yml: {sorted(set(conda) - set(runtime))}; "
        f"only in pyproject.toml: {sorted(set(runtime) - set(conda))}"
    )
    # Same lower bounds, so the two environments resolve alike.
    for name, req in runtime.items():
        bound = re.search(r">=\s*([\w.]+)", req)
        if bound:
            assert f">={bound.group(1)}" in conda[name].replace(" ", ""), (name, req, conda[name])
    assert "-e ." in pip
    python = next(d for d in env["dependencies"] if isinstance(d, str) and _name(d) == "python")
    assert ">=3.11" in python


def test_layout_of_design_section_2_exists() -> None:
    for name in [
        "notebooks",
        "amtools",
        "params",
        "tests",
        "environment.yml",
        "README.md",
        "pyproject.toml",
        "Makefile",
        ".ci/run",
        "benchmarks",
        "docs",
    ]:
        assert (ROOT / name).exists(), name


NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebooks_are_committed_without_outputs(path: Path) -> None:
    nb = json.loads(path.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert not cell.get("outputs"), f"{path.name}: strip outputs"
            assert cell.get("execution_count") is None, f"{path.name}: strip execution counts"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebooks_are_thin(path: Path) -> None:
    nb = json.loads(path.read_text(encoding="utf-8"))
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code and "parameters" in code[0].get("metadata", {}).get("tags", []), (
        f"{path.name}: the first code cell must be tagged 'parameters'"
    )
    for cell in code:
        source = "".join(cell["source"])
        assert not re.search(r"^\s*(def|class|async def)\s", source, re.M), (
            f"{path.name}: notebooks must not define functions or classes; move it into amtools"
        )
        assert "lambda" not in source, f"{path.name}: no lambdas in notebooks"


def test_ci_runs_the_readme_test_command() -> None:
    assert "make test" in (ROOT / ".ci/run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme and "make demo" in readme


def test_every_package_on_disk_is_listed_for_the_wheel() -> None:
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(setuptools["packages"])
    on_disk = {
        ".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "amtools").rglob("__init__.py")
    }
    assert on_disk - listed == set(), (
        f"add to [tool.setuptools] packages: {sorted(on_disk - listed)}"
    )
    # params/ and notebooks/ stay at the repository root and ship inside the package.
    assert setuptools["package-dir"]["amtools._params"] == "params"
    assert setuptools["package-dir"]["amtools._notebooks"] == "notebooks"
    assert {
        "amtools._params",
        "amtools._params.mappings",
        "amtools._params.policy",
        "amtools._params.reports",
        "amtools._notebooks",
    } <= listed
    data = setuptools["package-data"]
    assert "*.yaml" in data["amtools._params"] and "*.yaml" in data["amtools._params.mappings"]
    assert "*.ipynb" in data["amtools._notebooks"]
    subfolders = {p.name for p in (ROOT / "params").iterdir() if p.is_dir()}
    assert subfolders <= {"mappings", "policy", "reports"}, (
        f"package params/ sub-folders too: {sorted(subfolders)}"
    )


def test_make_test_lowest_pins_the_lower_bounds_of_pyproject() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    bounds = {}
    for req in pyproject["project"]["dependencies"]:
        found = re.search(r">=\s*([\w.]+)", req)
        if found:
            bounds[_name(req)] = found.group(1)
    makefile = (ROOT / "Makefile").read_text()
    pins = dict(re.findall(r"\b(pandas|numpy)==([\w.]+)", makefile))
    assert pins == {"pandas": bounds["pandas"], "numpy": bounds["numpy"]}, (pins, bounds)
