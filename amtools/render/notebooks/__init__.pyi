from . import context as context
from . import jobs as jobs
from . import kernels as kernels
from . import kinds as kinds
from . import paramcheck as paramcheck
from . import plan as plan
from . import pool as pool
from . import publish as publish
from . import runner as runner
from .context import (
    RunContext as RunContext,
    build_context as build_context,
    context_of as context_of,
    load_context as load_context,
    open_context as open_context,
    save_context as save_context,
)
from .kinds import REPORTS as REPORTS, ReportKind as ReportKind
from .paramcheck import (
    notebook_parameters as notebook_parameters,
    validate_parameters as validate_parameters,
)
from .runner import RunConfig as RunConfig, RunResult as RunResult, run as run
