from . import checks as checks
from .checks import CHECKS as CHECKS
from .checks import format_problems as format_problems
from .checks import pandera_schema as pandera_schema
from .checks import validate as validate
