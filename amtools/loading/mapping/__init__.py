"""Column mappings: how a CRM export's files and columns become the tables of the data model.

:func:`resolve_mapping` finds a mapping (a preset name, a YAML file, a dict),
:func:`parse_mapping` checks it into a :class:`MappingSpec`, :func:`apply_mapping` builds the
data-model tables from a raw source; :func:`presets` lists the shipped and project presets.
The YAML layout is described in ``docs/loading.md``.
"""

import lazy_loader as lazy

__getattr__, __dir__, __all__ = lazy.attach_stub(__name__, __file__)
