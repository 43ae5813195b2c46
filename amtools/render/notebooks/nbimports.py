"""nbformat without jsonschema's IRI grammar: an import that costs seconds and is never used.

nbformat validates notebooks with jsonschema, and importing jsonschema's format checkers
imports ``rfc3987_syntax`` when it is installed, which builds an Earley parser of the RFC 3987
grammar at import: 3.1 s of CPU on the benchmark machine (``python -X importtime -c "import
rfc3987_syntax"``), nearly all of ``import nbformat``. ``amtools run`` paid it before loading
the data, and every report worker paid it again while the data loaded. nbformat never checks
formats (its validator is built without a format checker), so amtools' processes block that
one optional import before nbformat is first imported: jsonschema then lacks only its "iri"
and "iri-reference" format checks, as it does wherever that package is not installed. A
process that imported jsonschema's format checkers already is left as it is.

The modules that import nbformat, papermill or nbconvert import this module first (and put
``# isort: split`` after it, so the import stays first).

Example
-------
>>> import sys, amtools.render.notebooks.nbimports
>>> "rfc3987_syntax" in sys.modules  # blocked (None), or imported before amtools was
True
"""

from __future__ import annotations

import sys

__all__ = ["SKIPPED"]

SKIPPED = "rfc3987_syntax"
"""The optional import blocked: jsonschema's IRI format grammar."""

if "jsonschema._format" not in sys.modules:  # once the checkers exist, the grammar is loaded
    sys.modules.setdefault(SKIPPED, None)  # type: ignore[arg-type]
