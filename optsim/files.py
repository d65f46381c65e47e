"""Writing files safely: a file is written to a temporary file in the same
directory and then moved over the target (``os.replace``), so a failed write
leaves the old file as it was. Everything that writes files uses this module;
it imports nothing from optsim."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


class ExportError(OSError):
    """A file could not be written; the message names the file and the reason."""


def check_writable(path: str | os.PathLike) -> Path:
    """Raise ExportError unless a file can be created at ``path`` (its directory exists
    and is writable, and the path is not a directory). Writes nothing."""
    p = Path(path)
    if str(path).strip() == "":
        raise ExportError("empty output path")
    if p.is_dir():
        raise ExportError(f"cannot write {str(path)!r}: it is a directory")
    parent = p.parent if str(p.parent) else Path(".")
    if parent.exists() and not parent.is_dir():
        raise ExportError(f"cannot write {str(path)!r}: {str(parent)!r} is not a directory")
    if not parent.is_dir():
        raise ExportError(f"cannot write {str(path)!r}: directory {str(parent)!r} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ExportError(f"cannot write {str(path)!r}: directory {str(parent)!r} is not writable")
    if p.exists() and not os.access(p, os.W_OK):
        raise ExportError(f"cannot write {str(path)!r}: the file is read-only")
    return p


def atomic_write(path: str | os.PathLike, writer: Callable[[str], Any]) -> Path:
    """Write a file atomically: ``writer(tmp_path)`` writes a temporary file in the
    same directory, which then replaces ``path``. On any failure the temporary file
    is removed, ``path`` is untouched, and ExportError (or the writer's own error)
    is raised."""
    p = check_writable(path)
    parent = p.parent if str(p.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp" + p.suffix, dir=parent)
    except OSError as exc:
        raise ExportError(f"cannot write {str(path)!r}: {exc.strerror or exc}") from None
    os.close(fd)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private; use the usual mode
        writer(tmp)
        if not os.path.exists(tmp) or os.path.getsize(tmp) == 0:
            raise ExportError(f"cannot write {str(path)!r}: nothing was written")
        os.replace(tmp, p)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return p


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            f.write(text)
    return atomic_write(path, write)
