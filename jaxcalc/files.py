"""Output files: a folder checked writable before any computing, and atomic writes.

An atomic write goes to a temporary file in the target's folder, is flushed and synced,
then renamed onto the target (``os.replace``) and the folder synced: a reader sees the old
complete file or the new one, never a part. Errors name the file and become
:class:`~jaxcalc.errors.OutputError`.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from jaxcalc.errors import OutputError

__all__ = ["probe_writable", "write_atomically"]


def probe_writable(folder: str | os.PathLike) -> None:
    """Create and delete a file in ``folder``; an OutputError says why that failed."""
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".jaxcalc-probe-"):
            pass
    except OSError as err:
        raise OutputError(f"cannot write to {folder}: {err.strerror or err}") from None


def write_atomically(
    path: str | os.PathLike, write: Callable[[BinaryIO], object], size: int | None = None
) -> Path:
    """Call ``write(handle)`` on a temporary file beside ``path``, then rename it onto
    ``path``. Nothing is left behind when ``write`` or the file system fails; the error
    names the file and, when given, the ``size`` in bytes that was to be written."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException as err:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(err, OSError):
            what = f" ({size} bytes)" if size is not None else ""
            raise OutputError(f"cannot write {target}{what}: {err.strerror or err}") from None
        raise
    _fsync_folder(target.parent)
    return target


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without folder descriptors
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)
