"""Issue 16 sections 3, 4 and 5, and the F rows of RELIABILITY.md: results on disk.

One row per case, named by its issue section (S3, S4, S5) or catalogue row (F1 ... F11).
Truth is the file system itself: which files exist, their bytes and permission bits, the
exit code and the one line on stderr. Rows about kill -9 and signals use real processes;
a full disk is a real file-size limit (RLIMIT_FSIZE) in a child process, or an OSError
with ENOSPC raised inside the write.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from jaxcalc_testing import run_cli

from jaxcalc.errors import OutputError
from jaxcalc.files import write_atomically
from jaxcalc.pipeline.folder import LOCK_NAME
from jaxcalc.pipeline.results import RESULTS_FORMAT, write_bytes, write_json, write_tables

ROOT = Path(__file__).resolve().parents[1]

OBJECTIVE = """
[[objectives]]
expression = "(x - {c})**2 + 3*(y + 1)**2"
label = "{label}"
bounds = [[-4.0, 4.0], [-4.0, 4.0]]
x_opt = [{c}, -1.0]
"""
HEAD = """
name = "files"
dtype = "float32"
[starts]
count = 3
[run]
steps = 20
record_every = 10
target = 1e-4
[[optimizers]]
name = "gd_armijo"
"""
LABELS = ("a/b", "a_b", "a b")  # one slug, three objectives


def config(tmp: Path, labels=LABELS, name="files.toml") -> Path:
    text = HEAD + "".join(
        OBJECTIVE.format(c=float(i + 1), label=label) for i, label in enumerate(labels)
    )
    path = tmp / name
    path.write_text(text)
    return path


def one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("jaxcalc: error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def child(script: str, *, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``script`` in a fresh Python that imports this worktree's jaxcalc."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), JAXCALC_NO_CACHE="1")
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """A complete run with its report: three objectives whose labels share one slug."""
    tmp = tmp_path_factory.mktemp("finished")
    out = tmp / "run"
    import jax

    from jaxcalc.cli import main

    saved = (jax.config.jax_enable_x64, jax.config.jax_default_matmul_precision)
    mask = os.umask(0o022)
    try:
        code = main(["run", str(config(tmp)), "--out", str(out), "--quiet"])
    finally:
        os.umask(mask)
        jax.config.update("jax_enable_x64", saved[0])
        jax.config.update("jax_default_matmul_precision", saved[1])
    assert code == 0
    return out


@pytest.fixture
def copy(finished, tmp_path) -> Path:
    out = tmp_path / "copy"
    shutil.copytree(finished, out)
    return out


def fail_engine(monkeypatch, after: int):
    """Make the engine raise a ResourceError on its call number ``after + 1``."""
    from jaxcalc.engine import run as engine
    from jaxcalc.errors import ResourceError

    real, calls = engine.optimize, []

    def failing(*args, **kwargs):
        if kwargs.get("_compile_only"):
            return real(*args, **kwargs)
        calls.append(1)
        if len(calls) > after:
            raise ResourceError("needs ~9 TB; budget 8 GB")
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "optimize", failing)


# ---------------------------------------------------------------------------------------
# Section 3: interrupted and failed runs leave no trap


KILLED_IN_REPORT = """
import os, signal, sys
from pathlib import Path
import jaxcalc.pipeline.report as report
from jaxcalc.cli import main

def killed(folder, **kwargs):
    # a temporary file of the report under way, then kill -9
    (Path(folder) / ".report.md.abc123.tmp").write_text("half a rep")
    os.kill(os.getpid(), signal.SIGKILL)

report.build_report = killed
sys.exit(main(["run", {config!r}, "--out", {out!r}, "--quiet"]))
"""


def test_S3_kill9_while_writing_the_report_then_resume(tmp_path, capsys):
    cfg, out = config(tmp_path, LABELS[:1]), tmp_path / "run"
    done = child(KILLED_IN_REPORT.format(config=str(cfg), out=str(out)))
    assert done.returncode == -signal.SIGKILL, done.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["groups_done"] == 1 and manifest["status"] != "complete"
    lock = (out / LOCK_NAME).read_text()
    assert lock.startswith("pid ") and socket.gethostname() in lock  # the dead run's lock
    assert (out / ".report.md.abc123.tmp").exists()

    code, _, err = run_cli(capsys, "run", str(cfg), "--out", str(out), "--resume")
    assert code == 0, err
    assert "took over the lock" in err and "temporary file" in err
    assert not (out / LOCK_NAME).exists() and not (out / ".report.md.abc123.tmp").exists()
    assert json.loads((out / "manifest.json").read_text())["status"] == "complete"
    assert (out / "report.md").read_text().count("Status: **complete**") == 1


def test_S3_a_live_lock_is_still_refused(copy, capsys):
    (copy / LOCK_NAME).write_text(f"pid {os.getpid()} on {socket.gethostname()}\n")
    cfg = config(copy.parent)
    code, _, err = run_cli(capsys, "run", str(cfg), "--out", str(copy), "--resume", "--quiet")
    assert code == 2 and "locked by another run" in one_line(err)
    assert (copy / LOCK_NAME).exists()


def test_S3_failed_run_leaves_no_folder_and_no_one_byte_csv(tmp_path, capsys, monkeypatch):
    cfg, out = config(tmp_path, LABELS[:1]), tmp_path / "run"
    fail_engine(monkeypatch, after=0)
    code, _, err = run_cli(capsys, "run", str(cfg), "--out", str(out), "--quiet")
    assert code == 2 and "needs ~9 TB" in one_line(err)
    assert not out.exists()  # nothing blocks the next --out
    monkeypatch.undo()
    code, _, err = run_cli(capsys, "run", str(cfg), "--out", str(out), "--quiet", "--no-report")
    assert code == 0, err


def test_S3_failed_run_with_finished_groups_says_how_to_resume(tmp_path, capsys, monkeypatch):
    cfg, out = config(tmp_path, LABELS[:2]), tmp_path / "run"
    fail_engine(monkeypatch, after=1)
    code, _, err = run_cli(capsys, "run", str(cfg), "--out", str(out), "--quiet", "--no-report")
    line = one_line(err)
    assert code == 2 and "--resume" in line and "--overwrite" in line and str(out) in line
    assert json.loads((out / "manifest.json").read_text())["status"] == "failed"
    assert (out / "summary.csv").stat().st_size > 1


def test_S3_no_table_is_written_without_rows(tmp_path):
    write_tables(tmp_path, [], {})
    assert list(tmp_path.iterdir()) == []


def test_S3_overwrite_removes_stale_group_files(copy, capsys):
    (copy / "group_007.npz").write_bytes(b"stale")
    (copy / "figures" / "convergence_old.png").write_bytes(b"stale")
    (copy / "notes.txt").write_text("mine")  # not a jaxcalc file: kept
    cfg = config(copy.parent, LABELS[:1], "one.toml")
    code, _, err = run_cli(
        capsys, "run", str(cfg), "--out", str(copy), "--overwrite", "--quiet", "--no-report"
    )
    assert code == 0, err
    names = sorted(p.name for p in copy.iterdir())
    assert [n for n in names if n.startswith("group_")] == ["group_000.npz"]
    assert "notes.txt" in names and not (copy / "figures").exists()


# ---------------------------------------------------------------------------------------
# Section 4: reading results never crashes


def _metadata(folder: Path, change) -> None:
    meta = json.loads((folder / "metadata.json").read_text())
    meta = change(meta)
    (folder / "metadata.json").write_text(json.dumps(meta))


def _drop(key):
    def change(meta):
        del meta[key]
        return meta

    return change


def _newer(meta):
    meta["versions"]["jaxcalc"] = "9.0.0"
    meta["format"] = "jaxcalc-results/9"
    return meta


def _older(meta):
    meta["versions"]["jaxcalc"] = "0.0.1"
    del meta["format"]
    del meta["config_hash"]
    return meta


def _rewrite_npz(folder: Path, change) -> None:
    path = folder / "group_000.npz"
    arrays = dict(np.load(path))
    np.savez(path, **change(arrays))


DAMAGE = {
    "S4-truncated-npz": ("group_001.npz", lambda f: _cut(f / "group_001.npz", 100), None),
    "S4-corrupt-npz": ("group_000.npz", lambda f: _noise(f / "group_000.npz"), None),
    "S4-npz-without-arrays": (
        "group_000.npz",
        lambda f: _rewrite_npz(f, lambda a: {"x": a["bounds"]}),
        "no 'status'",
    ),
    "S4-npz-wrong-shapes": (
        "group_000.npz",
        lambda f: _rewrite_npz(f, lambda a: {**a, "values": np.zeros(3)}),
        "unexpected contents",
    ),
    "S4-binary-csv": ("summary.csv", lambda f: _noise(f / "summary.csv"), "not UTF-8"),
    "S4-nul-csv": ("summary.csv", lambda f: (f / "summary.csv").write_bytes(b"a\0b\n"), "NUL"),
    "S4-garbled-csv": (
        "summary.csv",
        lambda f: (f / "summary.csv").write_text("foo,bar\n1,2,3,4\n"),
        "more cells",
    ),
    "S4-csv-without-columns": (
        "summary.csv",
        lambda f: (f / "summary.csv").write_text("foo,bar\n1,2\n"),
        "'objective'",
    ),
    "S4-metadata-a-list": (
        "metadata.json",
        lambda f: (f / "metadata.json").write_text("[1, 2, 3]"),
        "not jaxcalc metadata",
    ),
    "S4-metadata-no-groups": ("metadata.json", lambda f: _metadata(f, _drop("groups")), "groups"),
    "S4-metadata-group-a-number": (
        "metadata.json",
        lambda f: _metadata(f, lambda m: {**m, "groups": [7]}),
        "groups[0]",
    ),
    "S4-metadata-escaping-path": (
        "metadata.json",
        lambda f: _metadata(f, lambda m: {**m, "groups": [{**m["groups"][0], "file": "../x.npz"}]}),
        "not a part file",
    ),
    "S4-metadata-not-json": (
        "metadata.json",
        lambda f: (f / "metadata.json").write_text('{"name": '),
        "not valid JSON",
    ),
    "S4-newer-jaxcalc": ("metadata.json", lambda f: _metadata(f, _newer), "jaxcalc 9.0.0"),
    "S4-older-jaxcalc": ("metadata.json", lambda f: _metadata(f, _older), "jaxcalc 0.0.1"),
}


def _cut(path: Path, size: int) -> None:
    path.write_bytes(path.read_bytes()[:size])


def _noise(path: Path) -> None:
    path.write_bytes(bytes(range(128, 256)) * 8)


@pytest.mark.parametrize("case", list(DAMAGE), ids=list(DAMAGE))
def test_S4_report_on_damaged_results_is_one_line(copy, capsys, case):
    name, damage, words = DAMAGE[case]
    damage(copy)
    code, _, err = run_cli(capsys, "report", str(copy))
    line = one_line(err)
    assert code == 2 and str(copy / name) in line, line
    if words:
        assert words in line, line


# ---------------------------------------------------------------------------------------
# Section 5: names and files


def test_S5_labels_with_one_slug_get_distinct_figures_listed_in_metadata(finished):
    meta = json.loads((finished / "metadata.json").read_text())
    assert meta["format"] == RESULTS_FORMAT
    files = [meta["figures"][label]["convergence"] for label in LABELS]
    assert len(set(files)) == 3
    for label in LABELS:
        for path in meta["figures"][label].values():
            assert (finished / path).is_file() and path in (finished / "report.md").read_text()
            name = Path(path).name
            assert name.isascii() and " " not in name and "/" not in name


@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
def test_S5_new_files_honour_the_umask(tmp_path, mask, mode):
    old = os.umask(mask)
    try:
        path = write_bytes(tmp_path / "new.csv", b"a\n")
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == mode


def test_S5_a_replaced_file_keeps_its_mode(tmp_path):
    path = tmp_path / "kept.csv"
    path.write_text("old")
    path.chmod(0o640)
    write_bytes(path, b"new")
    assert path.stat().st_mode & 0o777 == 0o640 and path.read_bytes() == b"new"


def test_S5_run_files_are_readable_by_the_group(finished):
    for path in [*finished.glob("*.*"), *finished.glob("figures/*")]:
        assert path.stat().st_mode & 0o040, path


FILE_SIZE_LIMIT = """
import resource, sys
from jaxcalc.errors import OutputError
from jaxcalc.pipeline.results import write_bytes
resource.setrlimit(resource.RLIMIT_FSIZE, (1000, 1000))
try:
    write_bytes({path!r}, b"x" * 5000)
except OutputError as err:
    print(err)
    sys.exit(2)
"""


def test_S5_a_file_size_limit_names_the_file_and_keeps_the_old_one(tmp_path):
    path = tmp_path / "summary.csv"
    path.write_text("old complete table\n")
    done = child(FILE_SIZE_LIMIT.format(path=str(path)))
    assert done.returncode == 2, done.stderr
    assert f"cannot write {path} (5000 bytes): File too large" in done.stdout
    assert path.read_text() == "old complete table\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["summary.csv"]


def test_S5_a_read_only_folder_is_one_error(tmp_path, monkeypatch):
    import tempfile

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    with pytest.raises(OutputError, match="cannot write .*a.json .*Read-only file system"):
        write_json(tmp_path / "a.json", {"a": 1})


def _disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_S5_plot_output_on_a_full_disk(tmp_path, capsys, monkeypatch):
    import matplotlib.figure

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", _disk_full)
    out = tmp_path / "plot.png"
    code, _, err = run_cli(capsys, "plot", "x**2", "-o", str(out))
    assert code == 2 and f"cannot write {out}: No space left on device" in one_line(err)
    assert list(tmp_path.iterdir()) == []


def test_S5_report_on_a_full_disk_keeps_the_earlier_report(copy, capsys, monkeypatch):
    import matplotlib.figure

    before = (copy / "report.md").read_bytes()
    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", _disk_full)
    code, _, err = run_cli(capsys, "report", str(copy))
    assert code == 2 and "No space left on device" in one_line(err)
    assert str(copy / "figures") in err
    assert (copy / "report.md").read_bytes() == before
    assert not [p for p in copy.rglob(".*.tmp")]


# ---------------------------------------------------------------------------------------
# RELIABILITY.md, F rows


def test_F1_a_file_where_the_folder_should_be(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    cfg = config(tmp_path, LABELS[:1])
    for out, words in ((blocker, "is not a folder"), (blocker / "sub", "cannot create")):
        code, _, err = run_cli(capsys, "run", str(cfg), "--out", str(out), "--quiet")
        assert code == 2 and words in one_line(err)


def test_F2_existing_results_are_never_overwritten_by_mistake(copy, capsys):
    before = (copy / "summary.csv").read_bytes()
    code, _, err = run_cli(capsys, "run", str(config(copy.parent)), "--out", str(copy))
    line = one_line(err)
    assert code == 2 and "results exist" in line and "--resume" in line and "--overwrite" in line
    assert (copy / "summary.csv").read_bytes() == before


def test_F3_a_crash_during_a_write_keeps_the_old_file(tmp_path):
    path = tmp_path / "metadata.json"
    path.write_text("old")

    def crash(handle):
        handle.write(b"half")
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        write_atomically(path, crash)
    assert path.read_text() == "old" and sorted(tmp_path.iterdir()) == [path]


SIGTERM_AFTER_FIRST = """
import os, signal, sys
from jaxcalc.engine import run as engine
from jaxcalc.cli import main

real, calls = engine.optimize, []

def optimize(*args, **kwargs):
    if not kwargs.get("_compile_only"):
        calls.append(1)
        if len(calls) == 1:
            os.kill(os.getpid(), signal.SIGTERM)  # arrives while the first group runs
    return real(*args, **kwargs)

engine.optimize = optimize
sys.exit(main(["run", {config!r}, "--out", {out!r}, "--quiet", "--no-report"]))
"""


def test_F4_sigterm_marks_the_run_interrupted_and_exits_130(tmp_path):
    cfg, out = config(tmp_path, LABELS[:2]), tmp_path / "run"
    done = child(SIGTERM_AFTER_FIRST.format(config=str(cfg), out=str(out)))
    assert done.returncode == 130, done.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "interrupted" and manifest["groups_done"] == 1
    assert "--resume" in done.stderr and not (out / LOCK_NAME).exists()


def test_F5_resume_with_a_changed_config_is_refused(copy, capsys):
    cfg = config(copy.parent)
    code, _, err = run_cli(
        capsys, "run", str(cfg), "--out", str(copy), "--resume", "--set", "run.steps=30"
    )
    assert code == 2 and "config changed" in one_line(err)


def test_F6_disk_full_inside_a_write_names_the_file_and_bytes(tmp_path):
    path = tmp_path / "group_000.npz"
    path.write_bytes(b"earlier part")

    def full(handle):
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OutputError, match=r"group_000.npz \(12345 bytes\): No space left"):
        write_atomically(path, full, size=12345)
    assert path.read_bytes() == b"earlier part" and sorted(tmp_path.iterdir()) == [path]


def test_F7_non_finite_numbers_are_strict_json(tmp_path):
    path = write_json(tmp_path / "m.json", {"f": float("nan"), "g": [float("inf"), 1.0]})
    assert json.loads(path.read_text(), parse_constant=pytest.fail) == {"f": None, "g": [None, 1.0]}


def test_F8_diverged_runs_are_counted_in_the_report(copy, capsys):
    def diverge(arrays):
        status = arrays["status"].astype(str)
        status[..., 0] = "diverged_nonfinite"
        values = arrays["values"].copy()
        values[..., 0, -1] = np.nan
        return {**arrays, "status": status, "values": values}

    _rewrite_npz(copy, diverge)
    code, _, err = run_cli(capsys, "report", str(copy))
    assert code == 0, err
    assert "gd_armijo: 1 of 3 runs diverged" in (copy / "report.md").read_text()


def test_F9_a_second_run_in_a_locked_folder_is_refused(copy, capsys):
    (copy / LOCK_NAME).write_text(f"pid {os.getpid()} on {socket.gethostname()}\n")
    code, _, err = run_cli(capsys, "run", str(config(copy.parent)), "--out", str(copy))
    assert code == 2 and f"pid {os.getpid()}" in one_line(err)


def test_F10_unusual_paths_resolve_and_print(tmp_path, capsys, monkeypatch):
    cfg = config(tmp_path, LABELS[:1])
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    relative = Path("..") / "résultats avec espaces" / ("long" * 30)
    code, out, err = run_cli(capsys, "run", str(cfg), "--out", str(relative), "--no-report")
    assert code == 0, err
    folder = (tmp_path / "résultats avec espaces" / ("long" * 30)).resolve()
    assert f"writing to {folder}" in out and (folder / "summary.csv").is_file()


def test_F11_metadata_has_the_provenance(finished):
    meta = json.loads((finished / "metadata.json").read_text())
    for key in ("config", "config_hash", "dtype", "seed", "started", "finished", "status"):
        assert meta[key] not in (None, ""), key
    assert {"jaxcalc", "jax", "jaxlib", "optax"} <= set(meta["versions"])
    assert {"x64", "matmul_precision", "devices", "backend"} <= set(meta["platform"])
    assert meta["status"] == "complete" and sum(meta["status_counts"].values()) == 9
