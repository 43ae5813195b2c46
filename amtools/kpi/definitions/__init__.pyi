from . import activity as activity
from . import client as client
from . import financial as financial
from . import internal as internal
from . import professional as professional
from . import project as project
