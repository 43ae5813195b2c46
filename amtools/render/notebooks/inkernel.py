"""The code that runs inside a report kernel: the warm-up and the reset between notebooks.

A kernel imports this module for its housekeeping, so it imports nothing beyond the standard
library (the Jupyter and papermill machinery of :mod:`.kernels` runs in the worker, not in the
kernel: importing it there cost every kernel start about 2 s, most of it jsonschema's format
checkers pulled in by nbformat).
"""

from __future__ import annotations

import copy
import gc
import importlib
import os
import sys
import warnings
from typing import Any

__all__ = ["WARM_MODULES", "kernel_warm", "kernel_reset"]

WARM_MODULES: tuple[str, ...] = (
    "numpy",
    "pandas",
    "matplotlib",
    "matplotlib.pyplot",
    # not seaborn: only the team review's heatmap draws with it and imports it then (it pulls
    # in scipy.stats, a third of the warm-up of every kernel)
    "IPython.display",
    "amtools",
    "amtools.render.notebooks.context",  # the fronts are lazy: warm the modules themselves
    "amtools.pipeline",
    "amtools.core.i18n",
    "amtools.kpi",
    "amtools.kpi.registry",
    "amtools.kpi.scoring",
    "amtools.kpi.training",
    "amtools.render.charts",
    "amtools.render.html",
    "amtools.render.sections.team_review",
    "amtools.render.sections.manager_review",
    "amtools.render.sections.forecast",
    "amtools.render.sections.budget_plan",
    "amtools.forecast",
    "amtools.budget.planner",
)
"""Modules imported into every warm kernel before its first notebook (missing ones are skipped)."""


_SNAPSHOT: dict[str, Any] = {}


def kernel_warm(modules: tuple[str, ...] | list[str] = WARM_MODULES) -> list[str]:
    """Import ``modules`` and remember the interpreter state to restore between notebooks.

    Runs inside a report kernel; returns the modules that could not be imported.

    Example
    -------
    >>> kernel_warm(["json"])
    []
    """
    missing = []
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    _SNAPSHOT.clear()
    _SNAPSHOT.update(
        cwd=os.getcwd(),
        environ=dict(os.environ),
        sys_path=list(sys.path),
        filters=list(warnings.filters),
    )
    if "matplotlib" in sys.modules:
        import matplotlib

        _SNAPSHOT["rc"] = copy.deepcopy(dict(matplotlib.rcParams))
        _SNAPSHOT["backend"] = matplotlib.get_backend()
    if "numpy" in sys.modules:
        import numpy

        _SNAPSHOT["numpy_print"] = numpy.get_printoptions()
    _freeze()
    return missing


def _freeze() -> None:
    """Move every object alive now out of the cyclic garbage collector's sight.

    The warm modules and what survives a reset are long-lived; without this, the full
    collection of each reset walks all of them again (about a tenth of a second per report).
    Reference counting still frees them as usual.
    """
    gc.collect()
    gc.freeze()


def kernel_reset() -> None:
    """Clear the user namespace and restore the state :func:`kernel_warm` recorded.

    Runs inside a report kernel between two notebooks.
    """
    shell = _ipython()
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")
    if shell is not None:
        shell.reset(new_session=False)
        shell.execution_count = 1
    if "cwd" in _SNAPSHOT:
        os.chdir(_SNAPSHOT["cwd"])
        os.environ.clear()
        os.environ.update(_SNAPSHOT["environ"])
        sys.path[:] = _SNAPSHOT["sys_path"]
        warnings.filters[:] = _SNAPSHOT["filters"]  # type: ignore[index]
    if "rc" in _SNAPSHOT:
        import matplotlib

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            matplotlib.rcParams.update(_SNAPSHOT["rc"])
            if matplotlib.get_backend() != _SNAPSHOT["backend"]:
                import matplotlib.pyplot as plt

                plt.switch_backend(_SNAPSHOT["backend"])
    if "numpy_print" in _SNAPSHOT:
        import numpy

        numpy.set_printoptions(**_SNAPSHOT["numpy_print"])
    if "pandas" in sys.modules:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sys.modules["pandas"].reset_option("all")
    if shell is None:  # IPython's reset already ran a full garbage collection
        gc.collect()
    gc.freeze()  # what survived the reset is long-lived (see _freeze)


def _ipython() -> Any:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - kernels always have IPython
        return None
    return get_ipython()
