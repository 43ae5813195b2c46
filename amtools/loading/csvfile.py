"""Reading one CSV file: its delimiter, its header and the rows whose field count fits.

A file is read with every field as text and never with a column as the index; a row with
more or fewer fields than the header is not loaded and reported by line number
(``field_count``); a header whose field count matches no row, duplicate column names, an
empty, binary, undecodable or truncated (``.gz``) file are errors naming the file. An
Excel-style ``sep=;`` first line is taken as the delimiter and skipped.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from amtools.core.errors import SourceError
from amtools.core.problems import Problem
from amtools.loading.encoding import decompress, encoding_trouble, guess_encoding, quick_encoding

__all__ = ["CSV_SEPARATORS", "read_csv", "check_header", "drop_blank"]

CSV_SEPARATORS = (",", ";", "\t", "|")


def _sniff_sep(text: str) -> str:
    lines = [ln for ln in text.splitlines()[:30] if ln.strip()]
    if not lines:
        return ","
    best, best_fields, best_consistent = ",", 1, False
    for sep in CSV_SEPARATORS:
        counts = [len(row) for row in csv.reader(lines, delimiter=sep)]
        fields = counts[0]
        consistent = all(c == fields for c in counts)
        if fields < 2:
            continue
        if (consistent, fields) > (best_consistent, best_fields):
            best, best_fields, best_consistent = sep, fields, consistent
    return best


_SEP_LINE = re.compile(r"^\s*\"?sep=(.)\"?\s*$", re.IGNORECASE)
_DELIMITER_NAMES = {",": "','", ";": "';'", "\t": "tab", "|": "'|'"}


def _field_counts(text: str, delimiter: str) -> tuple[list[str], list[tuple[int, int, bool]]]:
    """The header fields and (line number, field count, only-empty extra fields) of every
    non-blank record after it."""
    csv.field_size_limit(max(csv.field_size_limit(), 2**31 - 1))
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header: list[str] | None = None
    counts: list[tuple[int, int, bool]] = []
    try:
        for record in reader:
            if not record or (len(record) == 1 and not record[0].strip()):
                continue  # a blank line (pandas skips it too)
            if header is None:
                header = record
                continue
            n = len(header)
            # extra fields past the header that are all empty: trailing delimiters
            blank_tail = len(record) > n and not any(c.strip() for c in record[n:])
            counts.append((reader.line_num, len(record), blank_tail))
    except csv.Error as exc:
        raise SourceError(
            f"cannot parse line {reader.line_num} as CSV ({exc}); fix the quoting there"
        ) from None
    return header or [], counts


def _lines(numbers: list[int], limit: int = 8) -> str:
    shown = ", ".join(str(n) for n in numbers[:limit])
    return shown + (f" and {len(numbers) - limit} more" if len(numbers) > limit else "")


def check_header(path: Path, header: list[str]) -> None:
    """Duplicate column names are an error naming both (pandas would rename one ``x.1``).

    Example
    -------
    >>> check_header(Path("deals.csv"), ["amount", "amount"])
    Traceback (most recent call last):
    ...
    amtools.core.errors.SourceError: deals.csv: columns 1 and 2 are both named 'amount'; \
the loader cannot tell which one holds the data. Fix: rename or delete one of them
    """
    seen: dict[str, int] = {}
    for pos, name in enumerate(header, 1):
        key = name.strip()
        if key == "":
            continue
        if key in seen:
            raise SourceError(
                f"{path}: columns {seen[key]} and {pos} are both named {key!r}; the loader "
                "cannot tell which one holds the data. Fix: rename or delete one of them"
            )
        seen[key] = pos


def _other_delimiter(text: str, delimiter: str) -> str | None:
    """Another common delimiter that splits the header into several fields, if any."""
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    best, fields = None, 1
    for other in CSV_SEPARATORS:
        if other == delimiter:
            continue
        n = len(next(csv.reader([first], delimiter=other), []))
        if n > fields:
            best, fields = other, n
    return best


def _read_text(path: Path, encoding: str | None, legacy: Callable[[], str] | None) -> str:
    """The text of one CSV file (decompressed, decoded, without BOM); errors name the file."""
    if path.is_dir():
        raise SourceError(
            f"{path} is a directory, not a file; put the exported CSV file at that path "
            "(or rename the folder)"
        )
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SourceError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not raw:
        raise SourceError(
            f"{path} is empty (0 bytes); export the table again, or delete the file "
            "if the table is not needed"
        )
    if path.name.lower().endswith(".gz"):
        raw = decompress(path, raw)
        if not raw:
            raise SourceError(f"{path} is empty once decompressed; export the table again")
    quick = encoding or quick_encoding(raw)
    if quick is None and legacy is None:
        trouble = encoding_trouble(raw)
        if trouble:
            raise SourceError(f"{path} {trouble}")
    enc = quick or (legacy() if legacy else guess_encoding(raw, str(path)))
    try:
        text = raw.decode(enc)
    except (UnicodeDecodeError, LookupError) as exc:
        raise SourceError(
            f"{path} cannot be decoded as {enc!r} ({exc}); pass the right encoding= "
            "(e.g. 'cp1251' for Russian Excel exports, 'utf-8-sig' for UTF-8 with BOM)"
        ) from None
    text = text.lstrip("\ufeff")
    return text


def read_csv(
    path: Path,
    table: str,
    encoding: str | None,
    sep: str | None,
    legacy: Callable[[], str] | None = None,
    skip_rows: int = 0,
) -> tuple[pd.DataFrame, str, list[Problem]]:
    """Read one CSV file as text columns; ``table`` names it in the problems found.

    ``legacy`` returns the encoding to use when the file is not UTF-8 (shared by the files of
    one folder); ``skip_rows`` lines above the header are dropped.

    Returns the frame (short or long rows removed), the delimiter, and a ``field_count``
    problem listing the line numbers of the removed rows. Raises :class:`SourceError` for an
    empty, binary, undecodable or unparseable file, a header whose field count matches
    no row, duplicate column names, and a delimiter that splits the header into one field
    while another one would split it.

    Example
    -------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "deals.csv"
    >>> _ = path.write_text("deal_id;amount\\nd1;1,5\\nd2\\n", encoding="utf-8")
    >>> df, delimiter, problems = read_csv(path, "deals", None, None)
    >>> df.deal_id.tolist(), delimiter, problems[0].check
    (['d1'], ';', 'field_count')
    """
    text = _read_text(path, encoding, legacy)
    if skip_rows:  # title lines above the header (report-style exports)
        text = "\n".join(text.splitlines()[skip_rows:])
    first, _, rest = text.partition("\n")
    hinted = _SEP_LINE.match(first.rstrip("\r"))
    if hinted:  # Excel's "sep=," line: a delimiter hint, not the header
        text = rest
        sep = sep or hinted.group(1)
    if not text.strip():
        raise SourceError(f"{path} has no header line (the file holds only blank lines)")
    delimiter = sep or ("\t" if ".tsv" in path.suffixes else _sniff_sep(text))
    try:
        header, counts = _field_counts(text, delimiter)
    except SourceError as exc:
        raise SourceError(f"{path}: {exc}") from None
    if len(header) == 1:
        other = _other_delimiter(text, delimiter)
        if other is not None:
            name = _DELIMITER_NAMES.get(other, repr(other))
            raise SourceError(
                f"{path}: the header splits into one field with delimiter {delimiter!r}, "
                f"but looks like {name}-separated; pass sep={other!r} or "
                f"read: {{sep: {other!r}}} in the mapping"
            )
    check_header(path, header)
    n = len(header)
    # Trailing delimiters are tolerated: empty header names at the end without data, or
    # empty fields past the header's end.
    n_named = n
    while n_named > 1 and not header[n_named - 1].strip():
        n_named -= 1
    fits = [k == n or blank_tail or n_named <= k < n for _, k, blank_tail in counts]
    off = [(line, k) for (line, k, _), ok in zip(counts, fits, strict=True) if not ok]
    ragged = any(ok and k != n for (_, k, _), ok in zip(counts, fits, strict=True))
    if off and len(off) > len(counts) / 2:
        common = max({k for _, k in off}, key=lambda k: sum(1 for _, c in off if c == k))
        raise SourceError(
            f"{path}: the header has {n} column name(s) but {len(off)} of {len(counts)} rows "
            f"have {common} field(s) (lines {_lines([ln for ln, _ in off])}). Fix: "
            + (
                "a header name is missing — add it"
                if common > n
                else "the header has names without data — check the delimiter and quoting"
            )
        )
    if off or ragged:
        # Rare path: keep the rows whose field count fits the header, by csv's own parse
        # (padded or cut to the header when only trailing delimiters differ).
        records = [
            r
            for r in csv.reader(io.StringIO(text), delimiter=delimiter)
            if r and not (len(r) == 1 and not r[0].strip())
        ]
        rows = [
            (r + [""] * (n - len(r)))[:n] for r, ok in zip(records[1:], fits, strict=True) if ok
        ]
        df = pd.DataFrame(rows, columns=header, dtype=object).astype("string[pyarrow]")
    else:
        try:
            df = pd.read_csv(
                io.StringIO(text),
                sep=delimiter,
                dtype="string[pyarrow]",  # vectorised text parsing later, on pandas 2 and 3
                keep_default_na=False,
                na_filter=False,
                index_col=False,  # never turn the first field into the index
            )
        except (pd.errors.ParserError, ValueError, csv.Error) as exc:
            raise SourceError(
                f"cannot parse {path} as CSV with delimiter {delimiter!r}: {exc}; "
                "pass sep= explicitly or fix the quoting"
            ) from None
    problems = [_field_count_problem(path, table, off, n)] if off else []
    return drop_blank(df), delimiter, problems


def drop_blank(df: pd.DataFrame) -> pd.DataFrame:
    """Drop what carries no data: rows with every cell empty (";;;;" lines, blank sheet rows)
    and unnamed columns with every cell empty (a trailing delimiter).

    Example
    -------
    >>> drop_blank(pd.DataFrame({"a": ["1", ""], "": ["", ""]})).to_dict("list")
    {'a': ['1']}
    """
    df = df.rename(columns=lambda c: str(c).strip())
    if df.empty:  # a header-only table: no rows to drop, and no all-empty columns to tell
        return df
    if all(isinstance(t, pd.StringDtype) for t in df.dtypes):
        cells = df.apply(lambda col: col.isna() | col.str.strip().eq("")).fillna(True)
    else:
        cells = df.astype(object).map(lambda v: v is None or v != v or str(v).strip() == "")
    unnamed = [c for c in df.columns if c == "" or re.fullmatch(r"Unnamed: \d+", c)]
    empty_columns = [c for c in unnamed if cells[c].all()]
    keep_rows = ~cells.all(axis=1) if len(df.columns) else pd.Series(True, index=df.index)
    return df.loc[keep_rows.to_numpy(), [c for c in df.columns if c not in empty_columns]]


def _field_count_problem(path: Path, table: str, off: list[tuple[int, int]], n: int) -> Problem:
    """The error listing the rows of ``path`` whose field count does not fit its header."""
    return Problem(
        table,
        None,
        "field_count",
        f"{len(off)} row(s) of {path.name} have a different number of fields than its "
        f"{n}-column header and were not loaded",
        len(off),
        tuple(f"line {ln}" for ln, _ in off[:5]),
        "fix those lines in the source (a cut-off row, an unquoted delimiter inside a "
        "value, or an extra delimiter) and load again",
        args={
            "n": len(off),
            "file": path.name,
            "columns": n,
            "lines": _lines([ln for ln, _ in off]),
        },
    )
