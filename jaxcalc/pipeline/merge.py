"""Shards' folders -> the results of one run: :func:`merge_shards`.

Each shard (``jaxcalc run CONFIG --shard i/N --out DIR_i``) computes whole batches of the
same plan as the unsharded run, so its group parts hold exactly the unsharded run's
numbers. Merging checks the shards before writing anything: each is a complete shard of
the same config (hash), jaxcalc/JAX versions, seed, dtype and number of shards; every
index from 0 to N-1 is given once; together they hold every group once. It then copies
the group parts into the new folder and writes the manifest, the metadata, the tables and
the report, as the unsharded run would have.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jaxcalc.errors import ConfigError, OutputError
from jaxcalc.files import TEMPORARY_SUFFIX
from jaxcalc.pipeline.folder import OutputFolder, live_lock
from jaxcalc.pipeline.record import RESUME_VERSIONS, now
from jaxcalc.pipeline.results import (
    read_group_part,
    read_json,
    read_manifest,
    rows_to_columns,
    write_json,
    write_manifest,
)

__all__ = ["merge_shards"]


@dataclass(frozen=True)
class _ShardFolder:
    path: Path
    manifest: dict[str, Any]
    metadata: dict[str, Any]

    @property
    def part(self) -> dict[str, Any]:
        return self.manifest["shard"]

    @property
    def name(self) -> str:
        return f"shard {self.part['index']}/{self.part['count']} ({self.path})"


def merge_shards(
    folders: Sequence[str | Path],
    out: str | Path,
    *,
    overwrite: bool = False,
    report: bool = True,
    progress: Callable[[str], None] | None = None,
) -> Path:
    """Merge the folders of every shard of one run into the results of that run in ``out``.

    Raises:
      ConfigError: the shards disagree (config, versions, seed, dtype, number of shards),
        or one is missing or given twice; nothing is written.
      OutputError: a folder is not a shard's results, is still running or incomplete, or
        ``out`` cannot be written; nothing is written.
    """
    if not folders:
        raise ConfigError("merge: give the folders of every shard (DIR_0 ... DIR_N-1)")
    shards = [_read(Path(f).expanduser().resolve()) for f in folders]
    _check(shards)
    parts = _read_parts(shards)
    folder = OutputFolder(out, overwrite=overwrite)
    with folder:
        try:
            _write(folder.path, shards, parts)
            if report:
                from jaxcalc.pipeline.report import build_report

                build_report(folder.path, status="complete")
        except BaseException:
            with contextlib.suppress(Exception):
                folder.discard()
            raise
    if progress is not None:
        progress(f"merged {len(shards)} shards ({len(parts)} groups) into {folder.path}")
    return folder.path


def _read(path: Path) -> _ShardFolder:
    """A shard's folder, refused unless it holds a finished shard's results."""
    if not path.is_dir():
        raise OutputError(f"merge: {path} is not a folder")
    manifest = read_manifest(path)
    if manifest is None:
        raise OutputError(f"merge: {path} has no manifest.json; it is not a jaxcalc results folder")
    if not isinstance(manifest.get("shard"), dict):
        raise OutputError(
            f"merge: {path} holds an unsharded run; merge takes the folders written by "
            "jaxcalc run CONFIG --shard i/N"
        )
    metadata = read_json(path / "metadata.json")
    if not isinstance(metadata, dict):
        raise OutputError(f"merge: {path / 'metadata.json'} is not a jaxcalc run's metadata")
    shard = _ShardFolder(path, manifest, metadata)
    status = manifest.get("status")
    if status == "complete":
        return shard
    done = len(manifest.get("groups", []))
    todo = len(shard.part.get("groups", []))
    owner = live_lock(path)
    if owner:
        raise OutputError(
            f"merge: {shard.name} is still running ({owner}; {done} of {todo} groups done)"
        )
    raise OutputError(
        f"merge: {shard.name} is incomplete ({status}, {done} of {todo} groups done); finish "
        f"it with jaxcalc run CONFIG --shard {shard.part['index']}/{shard.part['count']} "
        f"--out {path} --resume"
    )


def _check(shards: list[_ShardFolder]) -> None:
    """Refuse shards of different runs, a shard given twice, or a missing one."""
    first = shards[0]

    def fields(s: _ShardFolder) -> dict[str, Any]:
        versions = s.manifest.get("versions") or {}
        return {
            "config hash": str(s.manifest.get("config_hash")),
            **{f"{k} version": versions.get(k) for k in RESUME_VERSIONS},
            "seed": s.metadata.get("seed"),
            "dtype": s.metadata.get("dtype"),
            "number of shards": s.part.get("count"),
            "number of groups": s.manifest.get("groups_total"),
        }

    expected = fields(first)
    for shard in shards[1:]:
        for key, value in fields(shard).items():
            if value != expected[key]:
                raise ConfigError(
                    f"merge: {shard.name} is not a shard of the same run as {first.name}: "
                    f"{key} {value} differs from {expected[key]}"
                )
    count = int(first.part["count"])
    seen: dict[int, _ShardFolder] = {}
    for shard in shards:
        index = int(shard.part["index"])
        if index in seen:
            raise ConfigError(
                f"merge: shard {index}/{count} is given twice: {seen[index].path} and {shard.path}"
            )
        seen[index] = shard
    missing = [i for i in range(count) if i not in seen]
    if missing:
        raise ConfigError(
            f"merge: shard{'s' if len(missing) > 1 else ''} "
            f"{', '.join(f'{i}/{count}' for i in missing)} missing (given: "
            f"{', '.join(str(i) for i in sorted(seen))}); give every shard's folder"
        )
    owners: dict[int, _ShardFolder] = {}
    for shard in shards:
        for g in shard.part.get("groups", []):
            if g in owners:
                raise ConfigError(
                    f"merge: group {g + 1} is in both {owners[g].name} and {shard.name}"
                )
            owners[g] = shard
    total = int(first.manifest.get("groups_total", 0))
    lost = [g for g in range(total) if g not in owners]
    if lost:
        raise ConfigError(f"merge: no shard holds group {lost[0] + 1} of {total}")


def _read_parts(shards: list[_ShardFolder]) -> dict[int, tuple[Path, dict, list, Any]]:
    """Every group's part file, manifest entry and table rows, each part read once (a
    damaged part is refused here, before anything is written)."""
    parts = {}
    for shard in shards:
        entries = {e.get("index"): e for e in shard.manifest.get("groups", [])}
        for g in shard.part.get("groups", []):
            entry = entries.get(g)
            if entry is None:
                raise OutputError(f"merge: {shard.name} lists no finished group {g + 1}")
            path = shard.path / entry["file"]
            _arrays, summary, runs = read_group_part(path)
            parts[g] = (path, entry, summary, rows_to_columns(runs))
    return dict(sorted(parts.items()))


def _write(out: Path, shards: list[_ShardFolder], parts: dict) -> None:
    """The group parts, tables, manifest and metadata of the merged run in ``out``."""
    from jaxcalc.pipeline.run import write_finished_tables

    for path, entry, _, _ in parts.values():
        temporary = out / (entry["file"] + TEMPORARY_SUFFIX)
        shutil.copyfile(path, temporary)
        temporary.replace(out / entry["file"])
    finished = {g: (entry, summary, runs) for g, (_, entry, summary, runs) in parts.items()}
    write_finished_tables(out, finished, runs=True)
    first = min(shards, key=lambda s: s.part["index"])
    entries = [entry for _, entry, _, _ in parts.values()]
    started = min(str(s.manifest.get("started", "")) for s in shards)
    merged_from = [
        {
            "shard": f"{s.part['index']}/{s.part['count']}",
            "folder": str(s.path),
            "started": s.metadata.get("started"),
            "finished": s.metadata.get("finished"),
            "platform": s.metadata.get("platform"),
        }
        for s in sorted(shards, key=lambda s: s.part["index"])
    ]
    counts: dict[str, int] = {}
    for entry in entries:
        for k, v in entry.get("status_counts", {}).items():
            counts[k] = counts.get(k, 0) + int(v)
    manifest = {k: v for k, v in first.manifest.items() if k not in ("shard", "format")}
    manifest.update(
        status="complete",
        started=started,
        updated=now(),
        groups_done=len(entries),
        groups=entries,
        merged_from=[m["shard"] for m in merged_from],
    )
    metadata = {k: v for k, v in first.metadata.items() if k != "shard"}
    metadata.update(
        status="complete",
        started=started,
        finished=max(str(s.metadata.get("finished", "")) for s in shards),
        groups=entries,
        status_counts=dict(sorted(counts.items())),
        merged_from=merged_from,
    )
    write_manifest(out, manifest)
    write_json(out / "metadata.json", metadata)
