"""Text encodings of exported files: BOM and UTF-8 first, then Russian cp1251, then a guess.

Also the checks that tell a file that is not text at all (binary data, a broken ``.gz``
archive, mixed encodings) from one that is merely in a legacy encoding.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

from amtools.core.errors import SourceError

__all__ = ["quick_encoding", "guess_encoding", "decompress", "encoding_trouble"]


def quick_encoding(raw: bytes) -> str | None:
    """BOM or valid UTF-8; ``None`` when a legacy single-byte encoding must be guessed.

    Example
    -------
    >>> quick_encoding("Сделки".encode("utf-8")), quick_encoding("Сделки".encode("cp1251"))
    ('utf-8', None)
    """
    if raw.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A sample cut inside a multi-byte character is still UTF-8.
        if exc.start < len(raw) - 3 or exc.reason != "unexpected end of data":
            return None
    return "utf-8"


def _looks_cp1251(raw: bytes) -> bool:
    """Russian text saved by Excel/1C: cp1251 decodes it to mostly lower-case Cyrillic."""
    try:
        text = raw.decode("cp1251")
    except UnicodeDecodeError:
        return False
    letters = [ch for ch in text if "\u0400" <= ch <= "\u04ff"]
    typographic = set("\u00a0«»№–—“”„‘’…°±")
    other = [
        ch
        for ch in text
        if ord(ch) > 127 and ch not in typographic and not ("\u0400" <= ch <= "\u04ff")
    ]
    if len(letters) < 2 or len(other) > 0.1 * len(letters):
        return False
    # KOI8-R read as cp1251 also gives Cyrillic, but mostly capitals: with enough text,
    # real Russian is mostly lower case (short id-like files may be all capitals).
    return len(letters) < 200 or sum(ch.islower() for ch in letters) > 0.5 * len(letters)


def guess_encoding(raw: bytes, what: str) -> str:
    """Guess a legacy encoding (cp1251 first, as Russian exports use it, then charset-normalizer).

    ``what`` names the file in the error raised when no encoding fits.

    Example
    -------
    >>> guess_encoding("клиент;менеджер".encode("cp1251"), "clients.csv")
    'cp1251'
    """
    if _looks_cp1251(raw):
        return "cp1251"
    from charset_normalizer import from_bytes  # heavy, and needed only for a rare legacy file

    best = from_bytes(raw[:400_000]).best()
    if best is None:
        raise SourceError(
            f"cannot detect the text encoding of {what}; pass encoding= (e.g. 'cp1251' or 'utf-8')"
        )
    return str(best.encoding)


def decompress(path: Path, raw: bytes) -> bytes:
    """Gunzip ``raw``; a truncated or corrupt archive is a :class:`SourceError` naming the file.

    Example
    -------
    >>> decompress(Path("deals.csv.gz"), gzip.compress(b"deal_id"))
    b'deal_id'
    """
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error, ValueError) as exc:
        what = "truncated" if isinstance(exc, EOFError) else "not a valid gzip archive"
        raise SourceError(
            f"{path} cannot be decompressed: the file is {what} ({exc}). Fix: export or "
            "download it again (check it with `gzip -t`), or load the uncompressed .csv"
        ) from None


def _looks_binary(raw: bytes) -> bool:
    """Random bytes, an image or a zip saved as .csv: NULs or many control bytes."""
    head = raw[:65536]
    if not head:
        return False
    if b"\x00" in head:
        return True
    control = sum(1 for b in head if b < 32 and b not in (9, 10, 13, 12))
    return control > 0.01 * len(head)


def encoding_trouble(raw: bytes) -> str | None:
    """Why a file that is not clean UTF-8 cannot be read as text in one encoding, if so.

    Example
    -------
    >>> encoding_trouble("a;b".encode("cp1251")) is None
    True
    >>> encoding_trouble(bytes(8))[:30]
    'is not a text (CSV) file: it h'
    """
    if _looks_binary(raw):
        return (
            "is not a text (CSV) file: it holds binary data (control or NUL bytes). Fix: "
            "export the table again as CSV, or remove the file from the folder"
        )
    text = raw.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    valid = sum(1 for ch in text if ord(ch) > 127 and ch != "\ufffd")
    if valid >= 3 and valid >= 0.5 * bad:
        line = text[: text.index("\ufffd")].count("\n") + 1
        return (
            f"mixes encodings: it is mostly UTF-8, but line {line} is not (text in another "
            "encoding, e.g. cp1251, pasted in). Fix: save the whole file as UTF-8 again"
        )
    return None
