from . import budget as budget
from . import core as core
from . import demo as demo
from . import forecast as forecast
from . import kpi as kpi
from . import loading as loading
from . import pipeline as pipeline
from . import render as render
from . import validate as validate
from .core.dataset import Dataset as Dataset
from .core.errors import AmtoolsError as AmtoolsError
from .core.problems import DataValidationError as DataValidationError
from .demo import make_demo as make_demo
from .loading import load as load

__version__: str
