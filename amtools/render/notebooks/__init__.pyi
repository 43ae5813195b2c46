from . import context as context
from . import jobs as jobs
from . import kernels as kernels
from . import kinds as kinds
from . import paramcheck as paramcheck
from . import plan as plan
from . import pool as pool
from . import publish as publish
from . import reuse as reuse
from . import runner as runner
from . import slugs as slugs
from .config import RunConfig as RunConfig
from .context import (
    RunContext as RunContext,
)
from .context import (
    build_context as build_context,
)
from .context import (
    context_of as context_of,
)
from .context import (
    load_context as load_context,
)
from .context import (
    open_context as open_context,
)
from .context import (
    save_context as save_context,
)
from .kinds import REPORTS as REPORTS
from .kinds import ReportKind as ReportKind
from .paramcheck import (
    notebook_parameters as notebook_parameters,
)
from .paramcheck import (
    validate_parameters as validate_parameters,
)
from .runner import RunResult as RunResult
from .runner import run as run
