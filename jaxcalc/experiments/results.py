"""The only module that reads and writes result files.

Every file is written atomically: into a temporary file in the same folder, flushed and
fsynced, then ``os.replace``-d onto its name, and the folder fsynced; a reader (or a crash)
sees either the old complete file or the new one, never half of one. An output folder is
checked for writability before anything is computed, refused when it already holds
results (unless overwriting is asked for), and locked while a run writes into it.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import socket
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from jaxcalc.errors import OutputError

__all__ = [
    "OutputFolder",
    "read_csv",
    "read_json",
    "read_npz",
    "write_bytes",
    "write_csv",
    "write_json",
    "write_npz",
    "write_text",
]

LOCK_NAME = ".jaxcalc.lock"


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see the module docstring)."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException as err:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(err, OSError):
            raise OutputError(
                f"cannot write {target} ({len(data)} bytes): {err.strerror or err}"
            ) from None
        raise
    _fsync_dir(target.parent)
    return target


def write_text(path: str | os.PathLike, text: str) -> Path:
    return write_bytes(path, text.encode("utf-8"))


def _json_safe(value: Any) -> Any:
    """JSON has no NaN or infinity: they become null (the statuses say what happened)."""
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return _json_safe(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json(path: str | os.PathLike, data: Any) -> Path:
    text = json.dumps(_json_safe(data), indent=2, allow_nan=False, sort_keys=False)
    return write_text(path, text + "\n")


def write_csv(path: str | os.PathLike, rows: Iterable[Mapping[str, Any]]) -> Path:
    rows = list(rows)
    columns: list[str] = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _csv_value(row.get(k)) for k in columns})
    return write_text(path, buffer.getvalue())


def _csv_value(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    if isinstance(value, list | tuple):
        return ";".join(str(v) for v in value)
    return value


def write_npz(path: str | os.PathLike, arrays: Mapping[str, np.ndarray]) -> Path:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **{k: np.asarray(v) for k, v in arrays.items()})
    return write_bytes(path, buffer.getvalue())


def read_json(path: str | os.PathLike) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise OutputError(f"not found: {path}") from None
    except json.JSONDecodeError as err:
        raise OutputError(f"{path} is not valid JSON: {err}") from None


def read_csv(path: str | os.PathLike) -> list[dict[str, str]]:
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            return list(csv.DictReader(handle))
    except FileNotFoundError:
        raise OutputError(f"not found: {path}") from None


def read_npz(path: str | os.PathLike) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except FileNotFoundError:
        raise OutputError(f"not found: {path}") from None


class OutputFolder:
    """A results folder: checked, locked and released.

    Use as a context manager::

        with OutputFolder(path, overwrite=False) as out:
            write_json(out.path / "metadata.json", ...)
    """

    def __init__(self, path: str | os.PathLike, *, overwrite: bool = False):
        self.path = Path(path).expanduser().resolve()
        self.overwrite = overwrite
        self._locked = False

    def check(self) -> OutputFolder:
        """Refuse unusable or non-empty folders and prove writability, before computing."""
        path = self.path
        if path.exists() and not path.is_dir():
            raise OutputError(f"{path} exists and is not a folder")
        if path.is_dir():
            lock = path / LOCK_NAME
            if lock.exists():
                owner = lock.read_text(errors="replace").strip()
                raise OutputError(
                    f"{path} is locked by another run ({owner}); if that run is gone, delete {lock}"
                )
            existing = [p.name for p in path.iterdir() if not p.name.startswith(".")]
            if existing and not self.overwrite:
                raise OutputError(
                    f"results exist at {path} ({len(existing)} files, e.g. {sorted(existing)[0]}); "
                    "use --overwrite or a new --out"
                )
        else:
            parent = path.parent
            if not parent.exists():
                try:
                    parent.mkdir(parents=True)
                except OSError as err:
                    raise OutputError(f"cannot create {parent}: {err.strerror}") from None
            try:
                path.mkdir()
            except OSError as err:
                raise OutputError(f"cannot create {path}: {err.strerror}") from None
        try:
            with tempfile.NamedTemporaryFile(dir=path, prefix=".jaxcalc-probe-"):
                pass
        except OSError as err:
            raise OutputError(f"cannot write to {path}: {err.strerror}") from None
        return self

    def __enter__(self) -> OutputFolder:
        self.check()
        lock = self.path / LOCK_NAME
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            raise OutputError(f"{self.path} is locked by another run") from None
        with os.fdopen(fd, "w") as handle:
            handle.write(f"pid {os.getpid()} on {socket.gethostname()}\n")
        self._locked = True
        return self

    def __exit__(self, *exc: object) -> None:
        if self._locked:
            (self.path / LOCK_NAME).unlink(missing_ok=True)
            self._locked = False
