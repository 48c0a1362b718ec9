"""End to end: configs/smoke.toml through `jaxcalc run` into temporary folders.

Oracles: the objectives' known minima (Booth: 0 at (1, 3); the shifted quadratic: 0 at
(2, -1)), BFGS's and backtracking gradient descent's convergence on these convex
quadratics, and COCO's definition of ERT recomputed here from the saved per-run table.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import jax
import numpy as np
import pytest
from jaxcalc_testing import run_cli

from jaxcalc.cli import main
from jaxcalc.pipeline import results as results_module
from jaxcalc.pipeline.results import write_text

SMOKE = Path(__file__).resolve().parents[2] / "configs" / "smoke.toml"
QUICK = ("--set", "starts.count=6", "--set", "run.steps=60")


def rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "smoke run é"  # spaces and non-ASCII (F10)
    saved = (jax.config.jax_enable_x64, jax.config.jax_default_matmul_precision)
    try:
        code = main(["run", str(SMOKE), "--out", str(out), *QUICK])
    finally:
        jax.config.update("jax_enable_x64", saved[0])
        jax.config.update("jax_default_matmul_precision", saved[1])
    assert code == 0
    return out


def test_writes_every_artifact(smoke_run):
    names = {p.name for p in smoke_run.iterdir()}
    assert {"summary.csv", "runs.csv", "metadata.json", "report.md", "figures"} <= names
    assert not any(n.endswith(".tmp") or n == ".jaxcalc.lock" for n in names)
    figures = {p.name for p in (smoke_run / "figures").iterdir()}
    assert {"convergence_booth.png", "ecdf.png", "performance_profile.png"} <= figures
    meta = json.loads((smoke_run / "metadata.json").read_text())
    assert meta["status"] == "complete"
    assert meta["config"]["starts"]["count"] == 6  # the override is recorded
    assert meta["versions"]["jax"] == jax.__version__
    assert len(meta["config_hash"]) == 64


def test_summary_has_one_row_per_setting(smoke_run):
    summary = rows(smoke_run / "summary.csv")
    # 2 objectives x (adam with 2 learning rates + bfgs + gd_armijo)
    assert len(summary) == 2 * 4
    for row in summary:
        assert int(row["runs"]) == 6
        assert 0.0 <= float(row["success_rate"]) <= 1.0


def test_convex_problems_are_solved_by_bfgs(smoke_run):
    for row in rows(smoke_run / "summary.csv"):
        if row["optimizer"] in ("bfgs", "gd_armijo"):
            assert float(row["success_rate"]) == 1.0, row
            assert float(row["precision_median"]) <= 1e-4


def test_ert_matches_coco_definition(smoke_run):
    runs = rows(smoke_run / "runs.csv")
    summary = rows(smoke_run / "summary.csv")
    for row in summary:
        mine = [
            r
            for r in runs
            if r["objective"] == row["objective"]
            and r["optimizer"] == row["optimizer"]
            and r.get("hp_learning_rate", "") == row.get("hp_learning_rate", "")
        ]
        hits = [int(r["evaluations_to_target"]) for r in mine]
        totals = [int(r["function_evaluations"]) for r in mine]
        successes = sum(h >= 0 for h in hits)
        spent = sum(h if h >= 0 else t for h, t in zip(hits, totals, strict=True))
        expected = spent / successes if successes else float("inf")
        assert float(row["ert"]) == pytest.approx(expected)


def test_same_config_same_numbers(smoke_run, tmp_path):
    again = tmp_path / "again"
    assert main(["run", str(SMOKE), "--out", str(again), *QUICK]) == 0
    timing = {"compile_seconds", "run_seconds"}
    first, second = rows(smoke_run / "summary.csv"), rows(again / "summary.csv")
    for a, b in zip(first, second, strict=True):
        assert {k: v for k, v in a.items() if k not in timing} == {
            k: v for k, v in b.items() if k not in timing
        }


def test_refuses_to_overwrite(smoke_run, capsys):
    before = (smoke_run / "summary.csv").read_bytes()
    code, _, err = run_cli(capsys, "run", str(SMOKE), "--out", str(smoke_run), *QUICK)
    assert code == 2
    assert "results exist" in err and "--overwrite" in err and "--resume" in err
    assert (smoke_run / "summary.csv").read_bytes() == before


def test_report_rebuilds_from_saved_results(smoke_run, capsys):
    report = smoke_run / "report.md"
    report.unlink()
    code, out, _ = run_cli(capsys, "report", str(smoke_run))
    assert code == 0 and report.exists()
    assert "| booth |" in report.read_text()


def test_report_shows_a_readable_subset_of_the_summary(smoke_run):
    text = (smoke_run / "report.md").read_text()
    header = next(line for line in text.splitlines() if line.startswith("| objective"))
    assert header == (
        "| objective | optimizer | learning_rate | runs | success | median f - f_opt "
        "| median evals to target | ERT | diverged |"
    )
    assert "final_value_q25" not in text and "compile_seconds" not in text
    assert "final_value_q25" in (smoke_run / "summary.csv").read_text()  # the full table
    table = [line for line in text.splitlines() if line.startswith("| booth")]
    assert len(table) == 4
    for line in table:
        for cell in line.strip("| ").split(" | ")[2:]:
            digits = cell.split("e")[0].lstrip("-").replace(".", "").lstrip("0")
            assert cell in ("-", "inf") or len(digits.rstrip("0") or "0") <= 3, line


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (1234.5, "1230"),
        ("0.012345", "0.0123"),
        (1.2345e-7, "1.23e-07"),
        ("nan", "-"),
        ("", "-"),
        ("inf", "inf"),
        ("6", "6"),
        (2.0 / 3.0, "0.667"),
        (1234567.0, "1.23e+06"),
    ],
)
def test_report_numbers_have_three_significant_digits(value, shown):
    from jaxcalc.pipeline.report.markdown import sig3 as _sig3

    assert _sig3(value) == shown


def test_crash_while_writing_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "summary.csv"
    target.write_text("old complete file\n")

    def crash(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(results_module.os, "replace", crash)
    with pytest.raises(Exception, match="No space left"):
        write_text(target, "new contents that never land\n")
    assert target.read_text() == "old complete file\n"
    assert [p.name for p in tmp_path.iterdir()] == ["summary.csv"]  # no temporary left


def test_unwritable_output_is_refused_before_computing(tmp_path, capsys):
    if os.geteuid() == 0:
        blocked = tmp_path / "file"
        blocked.write_text("a file where a folder is expected")
        code, _, err = run_cli(capsys, "run", str(SMOKE), "--out", str(blocked / "out"))
    else:  # pragma: no cover - non-root CI
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        code, _, err = run_cli(capsys, "run", str(SMOKE), "--out", str(locked / "out"))
    assert code == 2
    assert "cannot" in err or "not a folder" in err


def test_bad_config_exits_2_with_one_message(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text(SMOKE.read_text().replace("steps = 200", "stesp = 200"))
    code, out, err = run_cli(capsys, "run", str(bad), "--out", str(tmp_path / "o"))
    assert code == 2
    assert "stesp" in err and "steps" in err
    assert "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_metrics_numbers_are_finite_or_marked(smoke_run):
    data = np.load(smoke_run / "group_000.npz")
    assert data["values"].shape[-1] == 60 // 10 + 1
    assert set(np.unique(data["status"])) <= {
        "converged",
        "max_steps",
        "diverged_nonfinite",
        "diverged",
        "stalled",
    }


def test_two_dimensional_groups_save_f_on_a_grid_for_the_path_figures(smoke_run):
    """The contour behind the path figures is f on a grid over the bounds: checked
    against Booth's closed form and the config's expression, evaluated in NumPy."""
    from jaxcalc.pipeline.results import read_group_part
    from jaxcalc.pipeline.tables import CONTOUR_POINTS

    closed_forms = {
        "booth": lambda x, y: (x + 2 * y - 7) ** 2 + (2 * x + y - 5) ** 2,
        "shifted_quadratic": lambda x, y: (x - 2) ** 2 + 3 * (y + 1) ** 2,
    }
    seen = set()
    for part in sorted(Path(smoke_run).glob("group_*.npz")):
        arrays, summary, _ = read_group_part(part)
        name = summary[0]["objective"]
        (x0, x1), (y0, y1) = arrays["bounds"]
        gx, gy = np.meshgrid(
            np.linspace(x0, x1, CONTOUR_POINTS), np.linspace(y0, y1, CONTOUR_POINTS)
        )
        expected = closed_forms[name](gx, gy)
        np.testing.assert_allclose(arrays["contour_f"], expected, rtol=1e-5, atol=1e-4)
        seen.add(name)
    assert seen == set(closed_forms)
