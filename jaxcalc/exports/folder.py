"""An export's output folder: written whole or not at all.

Every file is written into a temporary folder beside the output folder, which is then
renamed onto it: a reader (or a crash) sees no export or a complete one.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

from jaxcalc.errors import OutputError

__all__ = ["check_out", "write_folder"]


def check_out(out: str | os.PathLike) -> Path:
    """The absolute output folder; OutputError when it exists and is not an empty folder,
    or its parent is missing."""
    path = Path(out).expanduser().resolve()
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise OutputError(f"export folder {path} exists and is not empty; choose a new OUT")
    if not path.parent.is_dir():
        raise OutputError(f"cannot write the export to {path}: {path.parent} does not exist")
    return path


def write_folder(out: str | os.PathLike, files: Mapping[str, str]) -> Path:
    """Write ``files`` ({path relative to the folder: text}) as the folder ``out``."""
    path = check_out(out)
    try:
        scratch = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}."))
    except OSError as err:
        raise OutputError(f"cannot write to {path.parent}: {err.strerror or err}") from None
    try:
        for relative, text in files.items():
            target = scratch / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        if path.exists():
            path.rmdir()
        os.rename(scratch, path)
    except OSError as err:
        shutil.rmtree(scratch, ignore_errors=True)
        raise OutputError(f"cannot write the export to {path}: {err.strerror or err}") from None
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    return path
