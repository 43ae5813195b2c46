"""Rendering: report notebooks and their runner, HTML export, the index page, Excel workbooks.

Submodules: :mod:`.notebooks` (run context, runner), :mod:`.export` (executed notebook ->
HTML page), :mod:`.index` (the pack's index page), :mod:`.tables` and :mod:`.plotting` (what
the notebooks show), :mod:`.workbook` (the budget in Excel), :mod:`.docs`. Nothing is imported
until a name is used.
"""

import lazy_loader as lazy

__getattr__, __dir__, __all__ = lazy.attach_stub(__name__, __file__)
