from . import charts as charts
from . import docs as docs
from . import export as export
from . import html as html
from . import index as index
from . import notebooks as notebooks
from . import sections as sections
from . import workbook as workbook
