"""Output files: a folder checked writable before any computing, and atomic writes.

An atomic write goes to a temporary file in the target's folder, is flushed and synced,
then renamed onto the target (``os.replace``) and the folder synced: a reader sees the old
complete file or the new one, never a part. A new file gets the permissions ``open`` would
give it (``0666`` less the umask); a file replaced keeps its own. Errors name the file and
become :class:`~jaxcalc.errors.OutputError`. Temporary files left by a killed process are
found by :func:`orphan_temporaries`.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import BinaryIO

from jaxcalc.errors import OutputError

__all__ = ["TEMPORARY_SUFFIX", "orphan_temporaries", "probe_writable", "write_atomically"]

#: the name of a temporary file is ``.<target name>.<random><TEMPORARY_SUFFIX>``
TEMPORARY_SUFFIX = ".tmp"
_PROBE_PREFIX = ".jaxcalc-probe-"


FIGURE_FORMATS = (".png", ".svg", ".pdf")


def probe_writable(folder: str | os.PathLike) -> None:
    """Create and delete a file in ``folder``; an OutputError says why that failed."""
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=_PROBE_PREFIX):
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
    what = f" ({size} bytes)" if size is not None else ""
    try:
        fd, tmp = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.name}.", suffix=TEMPORARY_SUFFIX
        )
    except OSError as err:
        raise OutputError(f"cannot write {target}{what}: {err.strerror or err}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), _mode_for(target))
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException as err:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(err, OSError) and not isinstance(err, OutputError):
            raise OutputError(f"cannot write {target}{what}: {err.strerror or err}") from None
        raise
    _fsync_folder(target.parent)
    return target


def orphan_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Temporary files of :func:`write_atomically` and :func:`probe_writable` in ``folder``
    (left there only by a process that was killed while writing)."""
    try:
        names = list(Path(folder).iterdir())
    except OSError:
        return []
    return [
        p
        for p in names
        if p.name.startswith(_PROBE_PREFIX)
        or (p.name.startswith(".") and p.name.endswith(TEMPORARY_SUFFIX) and p.is_file())
    ]


def _umask() -> int:
    """The process's umask, read without changing it where the system allows."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # pragma: no cover - systems without /proc
    os.umask(mask)  # pragma: no cover
    return mask  # pragma: no cover


def _mode_for(target: Path) -> int:
    """The permissions of a replaced file, or those ``open`` gives a new one."""
    try:
        return stat.S_IMODE(target.stat().st_mode)
    except OSError:
        return 0o666 & ~_umask()


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


def check_output_path(path: str | os.PathLike, formats: Sequence[str] = FIGURE_FORMATS) -> Path:
    """Resolve ``path`` and check, before any computing, that a figure can be written there."""
    target = Path(path).expanduser().resolve()
    if target.suffix.lower() not in formats:
        raise OutputError(
            f"{path}: unknown figure format {target.suffix or '(none)'!r}; "
            f"use one of {', '.join(formats)}"
        )
    if target.is_dir():
        raise OutputError(f"{target} is a directory; give a file name such as plot.png")
    parent = target.parent
    if not parent.is_dir():
        raise OutputError(f"cannot write {target}: folder {parent} does not exist")
    probe_writable(parent)
    return target
