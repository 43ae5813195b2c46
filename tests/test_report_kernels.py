"""Warm kernels: notebooks reuse one kernel without seeing each other's state."""

from __future__ import annotations

import json

import pytest
from nbformat.v4 import new_code_cell, new_notebook
from papermill.exceptions import PapermillExecutionError
from papermill.parameterize import parameterize_notebook

from amtools.render.notebooks.kernels import WarmKernel

pytestmark = pytest.mark.notebook


def _nb(*sources: str, params: str = 'tag: str = ""  # which run'):
    nb = new_notebook()
    cell = new_code_cell(params)
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell, *[new_code_cell(s, metadata={"tags": []}) for s in sources]]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "language": "python",
        "display_name": "Python 3",
    }
    nb.metadata["papermill"] = {}
    return nb


def _stdout(nb) -> str:
    return "".join(
        o.get("text", "")
        for c in nb.cells
        for o in c.get("outputs", [])
        if o.get("name") == "stdout"
    )


PROBE = """
import json, os, warnings
import matplotlib, matplotlib.pyplot as plt, pandas as pd
print(json.dumps({
    "leak": "leak" in globals(),
    "figures": len(plt.get_fignums()),
    "linewidth": matplotlib.rcParams["lines.linewidth"],
    "max_rows": pd.get_option("display.max_rows"),
    "env": os.environ.get("AMTOOLS_TEST_LEAK"),
    "cwd": os.getcwd(),
    "tag": tag,
}))
"""

POLLUTE = """
leak = 42
import os, matplotlib, matplotlib.pyplot as plt, pandas as pd, warnings
plt.ioff(); plt.figure(); plt.figure()
matplotlib.rcParams["lines.linewidth"] = 9.0
pd.set_option("display.max_rows", 3)
os.environ["AMTOOLS_TEST_LEAK"] = "1"
os.chdir("/")
warnings.simplefilter("error")
"""


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("kernel_cwd")
    with WarmKernel(
        cwd=cwd, modules=["pandas", "matplotlib.pyplot", "amtools.render.notebooks"]
    ) as k:
        k.test_cwd = str(cwd)
        yield k


def _run(kernel, nb, **params):
    nb = parameterize_notebook(nb, params, kernel_name="python3", language="python")
    return kernel.execute(nb, timeout=120)


def test_state_of_one_notebook_is_not_visible_in_the_next(kernel):
    polluted = _run(kernel, _nb(POLLUTE, PROBE), tag="first")
    seen = json.loads(_stdout(polluted).strip().splitlines()[-1])
    assert seen["leak"] is True and seen["env"] == "1" and seen["max_rows"] == 3  # probe works

    clean = _run(kernel, _nb(PROBE), tag="second")
    state = json.loads(_stdout(clean).strip().splitlines()[-1])
    assert state["leak"] is False  # variables are gone
    assert state["figures"] == 0  # figures closed
    assert state["linewidth"] != 9.0  # rcParams restored
    assert state["max_rows"] != 3  # pandas options restored
    assert state["env"] is None  # environment restored
    assert state["cwd"] == kernel.test_cwd  # working directory restored
    assert state["tag"] == "second"  # the new parameters are in place
    # execution counts restart at 1, as in a fresh kernel
    assert [c.execution_count for c in clean.cells if c.cell_type == "code"][:2] == [1, 2]


def test_failing_notebook_restarts_the_kernel_and_the_next_one_runs(kernel):
    pid = kernel.pid
    restarts = kernel.restarts
    failing = _nb("leak = 'from the failed notebook'", "raise ValueError('boom')", "never = 1")
    with pytest.raises(PapermillExecutionError) as info:
        _run(kernel, failing, tag="fails")
    assert info.value.ename == "ValueError" and "boom" in info.value.evalue
    assert "raise ValueError('boom')" in info.value.source
    # the notebook keeps its outputs up to the failure; later cells did not run
    assert any(o.get("output_type") == "error" for c in failing.cells for o in c.get("outputs", []))
    assert kernel.restarts == restarts + 1 and kernel.pid != pid  # a fresh process

    after = _run(kernel, _nb(PROBE), tag="after")
    state = json.loads(_stdout(after).strip().splitlines()[-1])
    assert state["leak"] is False and state["tag"] == "after"


def test_a_notebook_that_kills_its_kernel_does_not_break_the_next(kernel):
    with pytest.raises(Exception):  # noqa: B017 - papermill reports a dead kernel in several ways
        _run(kernel, _nb("import os; os._exit(1)"), tag="dies")
    after = _run(kernel, _nb(PROBE), tag="alive")
    assert json.loads(_stdout(after).strip().splitlines()[-1])["tag"] == "alive"


def test_a_kernel_that_dies_while_starting_is_replaced(monkeypatch: pytest.MonkeyPatch) -> None:
    # Jupyter picks the ports before the kernel binds them: a kernel started beside others can
    # find one taken and exit at once ("Address already in use"). A new start picks new ports.
    launched = []
    real_connect = WarmKernel._connect

    def connect_dies_once(self: WarmKernel) -> None:
        launched.append(self.pid)
        if len(launched) == 1:
            self.shutdown()
            raise RuntimeError("Kernel died before replying to kernel_info")
        real_connect(self)

    monkeypatch.setattr(WarmKernel, "_connect", connect_dies_once)
    with WarmKernel(modules=()) as kernel:
        assert len(launched) == 2 and launched[0] != launched[1]
        assert kernel.pid is not None


def test_a_kernel_that_keeps_dying_fails_the_start(monkeypatch: pytest.MonkeyPatch) -> None:
    from amtools.render.notebooks.kernels import START_ATTEMPTS

    starts = []

    def dies(self: WarmKernel) -> None:
        starts.append(1)
        self.shutdown()
        raise RuntimeError("Kernel died before replying to kernel_info")

    monkeypatch.setattr(WarmKernel, "_connect", dies)
    with pytest.raises(RuntimeError, match="died"):
        WarmKernel(modules=()).start()
    assert len(starts) == START_ATTEMPTS
