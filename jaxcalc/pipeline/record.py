"""The record of a run: its manifest and metadata, the finished groups, resuming.

``manifest.json`` lists the finished groups with the config hash and the jaxcalc/JAX
versions; ``metadata.json`` adds the resolved config, the platform and the times. Both are
rewritten (atomically, by :mod:`jaxcalc.pipeline.results`) after every group. ``--resume``
keeps the groups an earlier run finished, refusing when the config or versions changed.
"""

from __future__ import annotations

import datetime
import platform
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from jaxcalc.errors import OutputError
from jaxcalc.pipeline.results import (
    MANIFEST_NAME,
    RESULTS_FORMAT,
    SCHEDULE_PREFIX,
    figure_files,
    read_group_part,
    read_manifest,
    read_npz,
    rows_to_columns,
    write_json,
    write_manifest,
)

__all__ = ["RESUME_VERSIONS", "RunRecord", "now", "schedule_rows"]

#: versions that must match for ``--resume`` to add groups to an earlier run
RESUME_VERSIONS = ("jaxcalc", "jax", "jaxlib")


def now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def _versions() -> dict[str, str]:
    import jax
    import jaxlib
    import optax

    import jaxcalc

    return {
        "jaxcalc": jaxcalc.__version__,
        "jax": jax.__version__,
        "jaxlib": jaxlib.__version__,
        "optax": optax.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }


def _platform() -> dict[str, Any]:
    import jax

    from jaxcalc.engine import bit_reproducible

    return {
        "backend": jax.default_backend(),
        # a run's bits independent of batch, chunks, threads, devices (docs/devices.md)
        "bit_reproducible": bit_reproducible(),
        "devices": [str(d) for d in jax.devices()],
        "x64": bool(jax.config.jax_enable_x64),
        "matmul_precision": str(jax.config.jax_default_matmul_precision),
        "machine": platform.machine(),
        "system": platform.platform(),
    }


def _shard_name(part: dict[str, Any] | None) -> str:
    return "no shard" if not part else f"shard {part.get('index')}/{part.get('count')}"


def _previous(
    out: Path, config: Any, versions: dict[str, str], shard: dict[str, Any] | None
) -> dict[str, Any] | None:
    """The manifest of the run to resume in ``out`` (None: an empty folder)."""
    previous = read_manifest(out)
    if previous is None:
        existing = [p.name for p in out.iterdir() if not p.name.startswith(".")]
        if existing:
            raise OutputError(
                f"cannot resume in {out}: it has no {MANIFEST_NAME} (not a jaxcalc run, "
                "or one from an older jaxcalc); use --overwrite or a new --out"
            )
        return None
    changes = []
    old_hash, new_hash = str(previous.get("config_hash")), config.hash()
    if old_hash != new_hash:
        changes.append(f"config hash {old_hash[:12]} -> {new_hash[:12]}")
    old_versions = previous.get("versions") or {}
    for name in RESUME_VERSIONS:
        if old_versions.get(name) != versions[name]:
            changes.append(f"{name} {old_versions.get(name)} -> {versions[name]}")
    old_shard = previous.get("shard")
    if old_shard != shard:
        changes.append(f"{_shard_name(old_shard)} -> {_shard_name(shard)}")
    if changes:
        raise OutputError(
            f"config changed since run of {previous.get('started', '?')} in {out} "
            f"({'; '.join(changes)}); refusing to mix results. Resume with the same config, "
            "--set and --dtype values, or use --overwrite or a new --out"
        )
    return previous


def _load_finished(
    out: Path, previous: dict[str, Any], total: int, say: Callable[[str], None]
) -> dict[int, Any]:
    """The groups an earlier run finished: {index: (entry, summary rows, run columns)}."""
    finished: dict[int, Any] = {}
    for entry in previous.get("groups", []):
        index = entry.get("index")
        if not isinstance(index, int) or not 0 <= index < total:
            continue
        try:
            _arrays, summary_rows, runs_rows = read_group_part(out / entry["file"])
        except (OutputError, KeyError) as err:
            say(f"jaxcalc: group {index + 1} will be recomputed: {err}")
            continue
        finished[index] = (entry, summary_rows, rows_to_columns(runs_rows))
    return finished


class RunRecord:
    """The manifest, the metadata and the finished groups of a run in folder ``out``.

    Attributes:
      finished: {group index: (manifest entry, summary rows, run columns)}.
    """

    def __init__(
        self,
        out: Path,
        config: Any,
        total: int,
        resume: bool,
        say: Callable[[str], None],
        shard: Any = None,
        expected: list[int] | None = None,
    ):
        self.out = out
        versions = _versions()
        # a shard's record names its part of the groups (see jaxcalc.pipeline.shard)
        part = None
        if shard is not None:
            part = {"index": shard.index, "count": shard.count, "groups": list(expected or [])}
        previous = _previous(out, config, versions, part) if resume else None
        self.finished = _load_finished(out, previous, total, say) if previous else {}
        started = now()
        resumed = []
        if previous:
            resumed = [*previous.get("resumed", []), started]
            started = previous.get("started", started)
        head = {"name": config.name, "status": "running"}
        self.metadata: dict[str, Any] = {
            "format": RESULTS_FORMAT,
            **head,
            "config": config.to_dict(),
            "config_hash": config.hash(),
            "overrides": list(config.overrides),
            "seed": config.seed,
            "dtype": config.dtype,
            "versions": versions,
            "platform": _platform(),
            "started": started,
            "resumed": resumed,
            "groups_total": total,
            **({"shard": part} if part else {}),
            "groups": [],
            "figures": figure_files({o.label: o.dim for o in config.objectives}),
        }
        self.manifest: dict[str, Any] = {
            **head,
            "config_hash": config.hash(),
            "versions": {k: versions[k] for k in RESUME_VERSIONS},
            "started": started,
            "resumed": resumed,
            "updated": resumed[-1] if resumed else started,
            "groups_total": total,
            **({"shard": part} if part else {}),
            "groups_done": 0,
            "groups": [],
        }

    def save(self, status: str, **extra: Any) -> None:
        """Write the manifest and the metadata with this status (``extra``: metadata)."""
        entries = [self.finished[g][0] for g in sorted(self.finished)]
        self.manifest.update(status=status, updated=now(), groups_done=len(entries))
        self.manifest["groups"] = entries
        self.metadata.update(status=status, groups=entries, **extra)
        write_manifest(self.out, self.manifest)
        write_json(self.out / "metadata.json", self.metadata)

    def status_counts(self) -> dict[str, int]:
        """Runs per status over the finished groups."""
        counts: dict[str, int] = {}
        for entry, _, _ in self.finished.values():
            for k, v in entry.get("status_counts", {}).items():
                counts[k] = counts.get(k, 0) + int(v)
        return dict(sorted(counts.items()))


def schedule_rows(out: Path, finished: dict[int, Any]) -> list[dict[str, Any]]:
    """The rows of ``schedules.csv``: every scheduled hyperparameter's value at every
    record of every setting of the finished groups ``{index: (entry, ...)}`` (a manifest
    entry lists its group's scheduled names under "schedules"; the values are read from
    its part).

    Columns: objective, optimizer, method, ``hp_<name>`` per swept hyperparameter,
    hyperparameter, step (the record's step: steps taken), value (the one the last of
    those steps used). The start (step 0), which no step produced, has no row.
    """
    rows: list[dict[str, Any]] = []
    for g in sorted(finished):
        entry = finished[g][0]
        names = entry.get("schedules") or []
        if not names:
            continue
        arrays = read_npz(out / entry["file"], (SCHEDULE_PREFIX, "recorded_steps"))
        steps = np.asarray(arrays["recorded_steps"]).astype(int)
        sweep = list(entry.get("sweep") or [])
        values = [np.asarray(entry["sweep_values"][k], np.float64) for k in sweep]
        grid = np.meshgrid(*values, indexing="ij") if sweep else []
        head = {"objective": entry["objective"], "optimizer": entry["optimizer"]}
        head["method"] = entry.get("method")
        for name in names:
            history = np.asarray(arrays[SCHEDULE_PREFIX + name], np.float64)
            lead = history.shape[:-1]
            for index in np.ndindex(*lead):
                setting = {f"hp_{k}": float(v[index]) for k, v in zip(sweep, grid, strict=True)}
                for i in range(1, history.shape[-1]):
                    rows.append(
                        {
                            **head,
                            **setting,
                            "hyperparameter": name,
                            "step": int(steps[i]),
                            "value": float(history[index + (i,)]),
                        }
                    )
    return rows
