"""A results folder: checked before any computing, locked while a run writes, cleaned.

A folder that is not one, cannot be written or already holds results (unless
``overwrite`` or ``resume``) is refused before anything is computed. The lock,
``.jaxcalc.lock``, names the process and host that hold it: a second run is refused, and a
lock whose process is gone (on this host: killed, say, with ``kill -9``) is taken over. The
temporary files a killed run left are then removed, and ``overwrite`` removes every file an
earlier run wrote, so no stale group part or figure survives into the new results.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
from pathlib import Path

from jaxcalc.errors import OutputError
from jaxcalc.files import TEMPORARY_SUFFIX, orphan_temporaries, probe_writable
from jaxcalc.pipeline.results import FIGURE_SUFFIXES, GROUP_PART, RUN_FILES, read_manifest

__all__ = ["LOCK_NAME", "OutputFolder", "live_lock"]

LOCK_NAME = ".jaxcalc.lock"
TAKEN_SUFFIX = ".taken"  # a stale lock moved aside while it is taken over


def _lock_owner(text: str) -> tuple[int, str] | None:
    """(pid, host) of a lock's text, ``pid N on HOST``; None when it does not say."""
    found = re.fullmatch(r"pid (\d+) on (\S+)", text.strip())
    return (int(found[1]), found[2]) if found else None


def _process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # it exists, owned by someone else
        return False
    return False


def live_lock(folder: Path) -> str | None:
    """The owner named by ``folder``'s lock while a run holds it; None when there is no
    lock or its process on this host is gone."""
    try:
        text = (folder / LOCK_NAME).read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None
    owner = _lock_owner(text)
    if owner is not None and owner[1] == socket.gethostname() and _process_gone(owner[0]):
        return None
    return text or "a lock that names no owner"


def _remove_run_files(folder: Path) -> int:
    """Delete the files a run writes in ``folder`` (and ``figures/`` once empty): the
    tables, manifest, metadata, report, group parts and figures; returns how many."""
    removed = 0
    figures = folder / "figures"
    doomed = [folder / name for name in RUN_FILES]
    doomed += [p for p in folder.iterdir() if GROUP_PART.fullmatch(p.name)]
    if figures.is_dir():
        doomed += [p for p in figures.iterdir() if p.suffix in FIGURE_SUFFIXES]
    for path in doomed:
        try:
            path.unlink()
            removed += 1
        except FileNotFoundError:
            pass
        except OSError as err:
            raise OutputError(f"cannot remove {path}: {err.strerror or err}") from None
    if figures.is_dir() and not any(figures.iterdir()):
        figures.rmdir()
    return removed


class OutputFolder:
    """A results folder: checked, locked and released.

    Use as a context manager::

        with OutputFolder(path, overwrite=False) as out:
            write_json(out.path / "metadata.json", ...)

    Attributes:
      created: True when this run created the folder.
      notes: one line for each thing found and cleaned on entry (a stale lock taken over,
        temporary files of a killed run, the files of an overwritten run).
    """

    def __init__(self, path: str | os.PathLike, *, overwrite: bool = False, resume: bool = False):
        if overwrite and resume:
            raise OutputError("--overwrite and --resume exclude each other; pick one")
        self.path = Path(path).expanduser().resolve()
        self.overwrite = overwrite
        self.resume = resume
        self.notes: list[str] = []
        self._locked = False
        self.created = False
        self._stale_lock: str | None = None

    def check(self) -> OutputFolder:
        """Refuse unusable or non-empty folders and prove writability, before computing."""
        path = self.path
        if path.exists() and not path.is_dir():
            raise OutputError(f"{path} exists and is not a folder")
        if path.is_dir():
            self._check_lock(path / LOCK_NAME)
            existing = [p.name for p in path.iterdir() if not p.name.startswith(".")]
            if existing and not (self.overwrite or self.resume):
                try:
                    manifest = read_manifest(path)
                except OutputError:
                    manifest = None
                what = (
                    f"{manifest.get('status', '?')} run {manifest.get('name', '?')!r}, config "
                    f"hash {str(manifest.get('config_hash', '?'))[:12]}, "
                    if manifest
                    else ""
                )
                raise OutputError(
                    f"results exist at {path} ({what}{len(existing)} files, e.g. "
                    f"{sorted(existing)[0]}); use --resume to finish an interrupted run, "
                    "--overwrite to replace them, or a new --out"
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
            self.created = True
        probe_writable(path)
        return self

    def _check_lock(self, lock: Path) -> None:
        """Refuse a folder locked by a live run; remember a lock whose process is gone."""
        try:
            text = lock.read_text(encoding="utf-8", errors="replace").strip()
        except FileNotFoundError:
            return
        except OSError as err:
            raise OutputError(f"cannot read the lock {lock}: {err.strerror or err}") from None
        owner = _lock_owner(text)
        if owner is not None and owner[1] == socket.gethostname() and _process_gone(owner[0]):
            self._stale_lock = text
            return
        where = "" if owner is None or owner[1] == socket.gethostname() else " on another host"
        raise OutputError(
            f"{self.path} is locked by another run ({text or 'no owner recorded'}{where}); "
            f"if that run is gone, delete {lock}"
        )

    def __enter__(self) -> OutputFolder:
        self.check()
        lock = self.path / LOCK_NAME
        if self._stale_lock is not None:
            self._take_over(lock, self._stale_lock)
        # the lock appears with its owner already written in it (a hard link of a complete
        # file), so a run killed at any moment never leaves a lock that names no one
        text = f"pid {os.getpid()} on {socket.gethostname()}\n"
        owner = self.path / f"{LOCK_NAME}.{os.getpid()}{TEMPORARY_SUFFIX}"
        try:
            owner.write_text(text, encoding="utf-8")
            try:
                os.link(owner, lock)
            except FileExistsError:
                raise
            except OSError:  # a file system without hard links: create, then write
                with open(lock, "x", encoding="utf-8") as handle:
                    handle.write(text)
        except FileExistsError:
            raise OutputError(f"{self.path} is locked by another run") from None
        except OSError as err:
            raise OutputError(f"cannot create the lock {lock}: {err.strerror or err}") from None
        finally:
            owner.unlink(missing_ok=True)
        self._locked = True
        self._clean()
        return self

    def _take_over(self, lock: Path, stale: str) -> None:
        """Move a stale lock aside (one process wins the rename) and check it was the
        stale one; a lock that changed meanwhile is put back and refused."""
        aside = lock.with_name(f"{LOCK_NAME}.{os.getpid()}{TAKEN_SUFFIX}")
        try:
            os.rename(lock, aside)
        except FileNotFoundError:
            return  # removed meanwhile: the exclusive create decides
        if aside.read_text(encoding="utf-8", errors="replace").strip() != stale:
            os.rename(aside, lock)
            raise OutputError(f"{self.path} is locked by another run")
        aside.unlink()
        self.notes.append(
            f"took over the lock of a run that is gone ({stale}); its finished files are kept"
        )

    def _clean(self) -> None:
        """With the lock held, remove what a killed run left: its temporary files; and with
        ``overwrite``, every file of the earlier run."""
        stale = [*orphan_temporaries(self.path), *orphan_temporaries(self.path / "figures")]
        stale += self.path.glob(f"{LOCK_NAME}.*{TAKEN_SUFFIX}")  # a take-over cut short
        for path in stale:
            path.unlink(missing_ok=True)
        if stale:
            self.notes.append(
                f"removed {len(stale)} temporary file(s) left by a killed run in {self.path}"
            )
        if self.overwrite:
            removed = _remove_run_files(self.path)
            if removed:
                self.notes.append(f"--overwrite: removed {removed} file(s) of the earlier run")

    def discard(self) -> None:
        """Remove what this run wrote (nothing of value: call it only when no group
        finished), and the folder itself when this run created it, so that a failed run
        does not block the next one with the same ``--out``."""
        _remove_run_files(self.path)
        if self.created:
            (self.path / LOCK_NAME).unlink(missing_ok=True)
            self._locked = False
            with contextlib.suppress(OSError):  # something else was put there meanwhile
                self.path.rmdir()

    def __exit__(self, *exc: object) -> None:
        if self._locked:
            (self.path / LOCK_NAME).unlink(missing_ok=True)
            self._locked = False
