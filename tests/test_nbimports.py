"""The run's processes import nbformat without jsonschema's IRI grammar (seconds of import)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

_CHECK = """
import sys
import {module}
import nbformat
nbformat.validate(nbformat.read({notebook!r}, 4))  # notebooks still validate
print(repr(sys.modules.get("rfc3987_syntax", "absent")))
"""


@pytest.mark.skipif(
    importlib.util.find_spec("rfc3987_syntax") is None, reason="the grammar is not installed"
)
@pytest.mark.parametrize(
    "module",
    [
        "amtools.render.notebooks.runner",  # the amtools run process
        "amtools.render.notebooks.pool",  # a report worker
        "amtools.render.notebooks.paramcheck",
        "amtools.render.export",
    ],
)
def test_nbformat_is_imported_without_the_iri_grammar(module: str) -> None:
    code = _CHECK.format(module=module, notebook=str(ROOT / "notebooks" / "manager_review.ipynb"))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "None"  # blocked, never built


def test_a_process_that_has_jsonschemas_checkers_is_left_alone() -> None:
    code = (
        "import sys, jsonschema._format, amtools.render.notebooks.nbimports; "
        "print(sys.modules.get('rfc3987_syntax', 'absent') is None)"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "False"
