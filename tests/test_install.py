"""Installed, not only checked out: build the wheel, install it into a clean venv, run it.

The venv is made offline: ``python -m venv --without-pip``, the wheel installed with
``--no-deps --no-index`` by the running interpreter's pip, and the dependencies made
visible through a ``.pth`` file listing the running interpreter's site-packages (a plain
path, so the checkout's editable install there is *not* activated). ``amtools`` is then
imported from the venv's own site-packages only. The run happens in an empty working
directory outside the checkout, with ``PYTHONPATH`` and ``AMTOOLS_*`` removed.

Building needs ``setuptools>=77`` in the running interpreter (the ``dev`` extra installs
it; ``make install`` does that).
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import sysconfig
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"


def _run(cmd: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kw)  # type: ignore[call-overload, no-any-return]


def _setuptools_ok() -> bool:
    try:
        major = int(metadata.version("setuptools").split(".")[0])
    except metadata.PackageNotFoundError:
        return False
    return major >= 77


_LOCAL = {".git", ".venv", "build", "dist", "data", "reports", "amtools.egg-info"}
_CACHES = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".hypothesis"}


def _not_sources(folder: str, names: list[str]) -> list[str]:
    """What a copy of the checkout leaves out: local folders at its top, caches anywhere."""
    top = Path(folder).resolve() == ROOT
    return [n for n in names if n in _CACHES or (top and n in _LOCAL)]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    assert _setuptools_ok(), (
        "building the wheel offline needs setuptools>=77 in this interpreter "
        f"({sys.executable}; found {metadata.version('setuptools')}): "
        'pip install -e ".[dev]" (make install) installs it'
    )
    dist = tmp_path_factory.mktemp("dist")
    # Build from a copy of the checkout: an in-tree build reuses ./build, where files of an
    # older layout can linger and end up in the wheel (they once hid a missing template).
    source = tmp_path_factory.mktemp("source") / "amtools"
    shutil.copytree(ROOT, source, ignore=_not_sources)
    done = _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-q",
            "-w",
            str(dist),
            str(source),
        ]  # fmt: skip
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (found,) = dist.glob("amtools-*.whl")
    return found


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    prefix = tmp_path_factory.mktemp("venv")
    done = _run([sys.executable, "-m", "venv", "--without-pip", "--clear", str(prefix)])
    assert done.returncode == 0, done.stderr
    python = prefix / "bin" / "python"
    purelib = _run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]
    ).stdout.strip()
    Path(purelib, "_amtools_test_deps.pth").write_text("\n".join(sorted(_dependency_dirs())) + "\n")
    env = _clean_env(prefix)
    done = _run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-index",
            "--ignore-installed",
            str(wheel),
        ],  # fmt: skip
        env=env,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    # The report kernels must be this venv's interpreter (as `make install` does for .venv).
    done = _run(
        [str(python), "-m", "ipykernel", "install", "--sys-prefix", "--name", "python3"], env=env
    )
    assert done.returncode == 0, done.stderr
    return prefix


def _dependency_dirs() -> set[str]:
    """Every site-packages folder this interpreter sees (its own and any added by .pth files)."""
    found = {sysconfig.get_paths()["purelib"], *site.getsitepackages()}
    found |= {p for p in sys.path if Path(p).name in ("site-packages", "dist-packages")}
    return {d for d in found if Path(d).is_dir()}


def _clean_env(prefix: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k != "PYTHONPATH" and not k.startswith(("AMTOOLS_", "JUPYTER_"))
    }
    # nbconvert's HTML templates are data files of the nbconvert install (<prefix>/share/jupyter
    # of the environment holding the dependencies); this venv's own share/jupyter comes first
    # (its kernel spec).
    data = [prefix / "share" / "jupyter"]
    for folder in [Path(sys.prefix), *(Path(d).parents[2] for d in sorted(_dependency_dirs()))]:
        candidate = folder / "share" / "jupyter"
        if (candidate / "nbconvert" / "templates").is_dir() and candidate not in data:
            data.append(candidate)
    env["JUPYTER_PATH"] = os.pathsep.join(str(d) for d in data)
    env["PATH"] = f"{prefix / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return env


@pytest.mark.slow
def test_wheel_ships_params_presets_and_notebooks(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for repo_dir, packaged in [("params", "amtools/_params"), ("notebooks", "amtools/_notebooks")]:
        for path in sorted((ROOT / repo_dir).rglob("*")):
            if path.suffix in (".yaml", ".ipynb"):
                inside = f"{packaged}/{path.relative_to(ROOT / repo_dir).as_posix()}"
                assert inside in names, f"{inside} missing from {wheel.name}"
    assert "amtools/_params/mappings/superstore.yaml" in names
    assert any(n.startswith("amtools/core/locales/") for n in names)
    assert any(n.startswith("amtools/render/templates/") for n in names)
    # the lazy package fronts read their stubs at import time
    fronts = {n for n in names if n.endswith("/__init__.pyi")}
    assert {
        "amtools/__init__.pyi",
        "amtools/kpi/__init__.pyi",
        "amtools/render/sections/__init__.pyi",
    } <= fronts


@pytest.mark.slow
def test_installed_amtools_reads_packaged_defaults_and_project_overrides(
    venv: Path, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    (project / "params" / "policy").mkdir(parents=True)
    (project / "params" / "policy" / "targets.yaml").write_text(
        (ROOT / "params" / "policy" / "targets.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    code = (
        "import amtools, amtools.core.paths as c\n"
        "from amtools.core.settings import params_path, read_params\n"
        "from amtools import kpi\n"
        "print(amtools.__file__)\n"
        "print(c.PARAMS_DIR, c.NOTEBOOKS_DIR, c.PROJECT_ROOT, sep='\\n')\n"
        "print(params_path('policy/targets'))\n"
        "print(params_path('policy/kpi_profiles'))\n"
        f"ds = amtools.load({str(FIXTURES / 'superstore')!r}, mapping='superstore')\n"
        "card = kpi.scorecard(kpi.compute(ds, freq='Q'), ds.managers)\n"
        "print(len(card))\n"
    )
    done = _run([str(venv / "bin" / "python"), "-c", code], env=_clean_env(venv), cwd=project)
    assert done.returncode == 0, done.stderr
    package, params, notebooks, root, targets, profiles, rows = done.stdout.split("\n")[:7]
    site_dir = str(venv.resolve())
    assert Path(package).resolve().is_relative_to(site_dir), package  # not the checkout
    assert Path(params).name == "_params" and Path(params).resolve().is_relative_to(site_dir)
    assert (
        Path(notebooks).name == "_notebooks" and (Path(notebooks) / "team_review.ipynb").is_file()
    )
    assert Path(root).resolve() == project.resolve()  # data/ and reports/ go to the project
    assert Path(targets).resolve() == (project / "params" / "policy" / "targets.yaml").resolve()
    assert Path(profiles).resolve().is_relative_to(site_dir)  # per file: the rest is packaged
    assert int(rows) > 0


@pytest.mark.slow
def test_installed_amtools_runs_a_preset_fixture_outside_the_checkout(
    venv: Path, tmp_path: Path
) -> None:
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    done = _run(
        [
            str(venv / "bin" / "amtools"),
            "run",
            "--source",
            str(FIXTURES / "superstore"),
            "--mapping",
            "superstore",
            "--reports",
            "team_review",
            "--out",
            "out",
            "--workers",
            "1",
            "--no-progress",
        ],  # fmt: skip
        env=_clean_env(venv),
        cwd=cwd,
    )
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    pages = list((cwd / "out").glob("*/team_review.html"))
    assert len(pages) == 1, done.stdout
    assert (pages[0].parent / "index.html").is_file()


# -- the parameter lookup itself (fast, in this process) ---------------------------------


def test_params_lookup_order_is_per_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from amtools.core.paths import DEFAULT_PARAMS_DIR
    from amtools.core.settings import params_dirs, params_path, read_params, use_params_dir

    monkeypatch.delenv("AMTOOLS_PARAMS", raising=False)
    monkeypatch.delenv("AMTOOLS_ROOT", raising=False)
    project, root, override = tmp_path / "project", tmp_path / "root", tmp_path / "override"
    for folder in (project / "params", root / "params", override):
        (folder / "policy").mkdir(parents=True)
    (project / "params" / "policy" / "targets.yaml").write_text("from: project\n")
    (root / "params" / "policy" / "targets.yaml").write_text("from: root\n")
    (root / "params" / "policy" / "kpi.yaml").write_text("from: root\n")
    (override / "policy" / "targets.yaml").write_text("from: override\n")
    monkeypatch.chdir(project)
    assert [d.resolve() for d in params_dirs()] == [
        (project / "params").resolve(),
        DEFAULT_PARAMS_DIR.resolve(),
    ]
    assert read_params("policy/targets") == {"from": "project"}  # the working directory's params/
    assert (
        params_path("policy/kpi_profiles") == DEFAULT_PARAMS_DIR / "policy" / "kpi_profiles.yaml"
    )  # per file
    assert params_path("mappings/superstore") == DEFAULT_PARAMS_DIR / "mappings" / "superstore.yaml"
    monkeypatch.setenv("AMTOOLS_ROOT", str(root))
    assert read_params("policy/targets") == {"from": "project"}  # cwd before AMTOOLS_ROOT
    assert read_params("policy/kpi") == {"from": "root"}
    with use_params_dir(override):
        assert read_params("policy/targets") == {
            "from": "override"
        }  # --params / AMTOOLS_PARAMS first
        assert read_params("policy/kpi") == {"from": "root"}
    assert "AMTOOLS_PARAMS" not in os.environ  # restored
    assert read_params("policy/targets") == {"from": "project"}


def test_a_project_file_under_its_old_flat_name_is_named_with_where_to_move_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from amtools.core.errors import ParameterError
    from amtools.core.settings import read_params

    monkeypatch.delenv("AMTOOLS_PARAMS", raising=False)
    monkeypatch.delenv("AMTOOLS_ROOT", raising=False)
    (tmp_path / "params").mkdir()
    (tmp_path / "params" / "forecast_models.yaml").write_text("models: [naive]\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ParameterError) as caught:
        read_params("policy/forecast")
    text = str(caught.value)
    assert "forecast_models.yaml" in text and str(Path("params", "policy", "forecast.yaml")) in text
    assert read_params("policy/kpi")  # a file the project does not override: the shipped one


def test_missing_parameter_file_names_where_it_was_looked_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from amtools.core.errors import ParameterError
    from amtools.core.settings import read_params

    monkeypatch.chdir(tmp_path)
    with pytest.raises(ParameterError, match=r"no_such_file\.yaml not found \(searched "):
        read_params("no_such_file")
