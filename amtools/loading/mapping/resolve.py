"""Finding a mapping: preset names, YAML files, dicts; and the preset a source looks like."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from amtools.core.errors import MappingError, ParameterError
from amtools.core.parse import normalize_name
from amtools.core.settings import params_dirs, params_path, read_params
from amtools.loading.mapping.spec import MappingSpec, parse_mapping

__all__ = ["presets", "resolve_mapping", "matching_preset"]


def presets() -> list[str]:
    """Names of the preset mappings: shipped ones and a project's ``params/mappings/*.yaml``.

    Example
    -------
    >>> "superstore" in presets()
    True
    """
    return sorted(
        {p.stem for folder in params_dirs() for p in (folder / "mappings").glob("*.yaml")}
    )


def resolve_mapping(mapping: Any) -> MappingSpec | None:
    """Turn ``None``, a preset name, a YAML path, a dict or a MappingSpec into a MappingSpec.

    Example
    -------
    >>> resolve_mapping("maven_crm").tables["deals"].source
    'sales_pipeline'
    """
    if mapping is None or isinstance(mapping, MappingSpec):
        return mapping
    if isinstance(mapping, Mapping):
        return parse_mapping(mapping, name=str(mapping.get("name", "custom")))
    if isinstance(mapping, str | Path):
        path = Path(mapping)
        if not (path.suffix in (".yaml", ".yml") or path.exists()):
            path = params_path(f"mappings/{mapping}")
            if not path.is_file():
                raise MappingError(
                    f"unknown mapping {str(mapping)!r}: not a file and not a preset; "
                    f"presets: {', '.join(presets()) or 'none'}; or pass a path to a YAML file"
                )
        try:
            data = read_params(path)
        except ParameterError as exc:
            raise MappingError(str(exc)) from None
        return parse_mapping(
            data, name=str(data.get("name", path.stem)), base=path.resolve().parent
        )
    raise MappingError(
        f"mapping must be a preset name, a YAML path or a dict, not {type(mapping).__name__}"
    )


def matching_preset(names: Iterable[str]) -> str | None:
    """The preset mapping whose source tables are all among ``names``, if any (a hint only).

    Example
    -------
    >>> matching_preset(["sales_pipeline", "sales_teams", "accounts", "products"])
    'maven_crm'
    """
    have = {normalize_name(n) for n in names}
    for name in presets():
        try:
            spec = resolve_mapping(name)
        except Exception:  # a broken preset must not break loading
            continue
        if spec is not None and all(normalize_name(t.source) in have for t in spec.tables.values()):
            return name
    return None
