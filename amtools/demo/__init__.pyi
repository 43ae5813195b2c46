from .build import make_demo as make_demo
from .cache import load_demo as load_demo
from .catalog import COMPETITORS as COMPETITORS
from .catalog import COURSES as COURSES
from .catalog import LOST_REASONS as LOST_REASONS
from .catalog import PRODUCTS as PRODUCTS
from .catalog import SKILLS as SKILLS
from .catalog import TRAITS as TRAITS
