from . import docs as docs
from . import export as export
from . import index as index
from . import notebooks as notebooks
from . import plotting as plotting
from . import tables as tables
from . import workbook as workbook
