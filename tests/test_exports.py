"""Exports read back by the field's own tools: ``cocopp`` reads the COCO export and
``iohinspector`` the IOHprofiler export of a tiny BBOB experiment (2 functions in 2-D, 3
instances, 2 starts each, BFGS under a budget that cuts some runs), and what they read
(evaluations, best values, evaluations to the target, ERT) must equal jaxcalc's own
``runs.csv``. Also: the per-record counts of the engine against hand-computed cases, and
the one-line errors of exports that cannot be made."""

from __future__ import annotations

import csv
import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
from jaxcalc_testing import run_cli

from jaxcalc.errors import OutputError
from jaxcalc.exports import export_coco, export_ioh
from jaxcalc.pipeline.results import read_npz, write_npz

TARGET = 1e-6
BUDGET_PER_DIM = 40  # 80 evaluations in 2-D: BFGS on f8 needs more on some instances

CONFIG = f"""
name = "bbob-export-tiny"
seed = 0
dtype = "float64"

[starts]
count = 2

[run]
budget_per_dim = {BUDGET_PER_DIM}
record_every = 2
target = {TARGET}

[[optimizers]]
name = "bfgs"
""" + "".join(
    f"""
[[objectives]]
name = "bbob_f{fid}"
label = "f{fid}_i{instance}"
dim = 2
params = {{instance = {instance}}}
"""
    for fid in (1, 8)
    for instance in (1, 2, 3)
)


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    from jaxcalc_testing import precision

    from jaxcalc.pipeline import load_config, run_experiment

    folder = tmp_path_factory.mktemp("export")
    config_path = folder / "tiny.toml"
    config_path.write_text(CONFIG)
    with precision(True):
        config = load_config(config_path)
        out = run_experiment(config, folder / "results", display="off", report=False)
    return Path(out)


def _runs(results: Path, label_prefix: str) -> list[dict[str, str]]:
    with open(results / "runs.csv", newline="") as handle:
        return [r for r in csv.DictReader(handle) if r["objective"].startswith(label_prefix)]


def _ert(rows: list[dict[str, str]]) -> float:
    hit = np.array([float(r["evaluations_to_target"]) for r in rows])
    spent = np.array([float(r["evaluations"]) for r in rows])
    success = hit >= 0
    return float(np.where(success, hit, spent).sum() / success.sum())


def test_cocopp_reads_back_the_counts_and_best_values_of_runs_csv(results, tmp_path):
    summary = export_coco(results, tmp_path / "coco")
    assert summary.runs == 12 and summary.algorithms == {"bfgs": "bfgs"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # cocopp warns: fewer than 15 instances, ...
        import cocopp.bestalg
        import cocopp.pproc
        import cocopp.testbedsettings

        datasets = cocopp.pproc.DataSetList(str(tmp_path / "coco" / "bfgs"))
        reference = cocopp.bestalg.load_reference_algorithm(
            cocopp.testbedsettings.current_testbed.reference_algorithm_filename
        )
    assert sorted((ds.funcId, ds.dim) for ds in datasets) == [(1, 2), (8, 2)]
    cut = 0
    for ds in datasets:
        rows = _runs(results, f"f{ds.funcId}_")
        assert ds.algId == "bfgs"
        assert list(ds.instancenumbers) == [1, 1, 2, 2, 3, 3]
        # every run's evaluations (the budget cuts some), its best f - f_opt, and the
        # evaluations at which it first reached the target
        spent = [float(r["evaluations"]) for r in rows]
        np.testing.assert_array_equal(ds.readmaxevals, spent)
        np.testing.assert_allclose(
            ds.finalfunvals, [max(float(r["precision"]), 0.0) for r in rows], rtol=1e-9, atol=1e-12
        )
        hits = [float(r["evaluations_to_target"]) for r in rows]
        np.testing.assert_array_equal(
            ds.detEvals([TARGET])[0], [h if h >= 0 else np.nan for h in hits]
        )
        assert ds.detERT([TARGET])[0] == pytest.approx(_ert(rows))
        cut += sum(r["status"] == "budget_exhausted" for r in rows)
        # the reference algorithm shipped with cocopp (best 2009) on the same problem
        assert np.isfinite(reference[(2, ds.funcId)].detERT([TARGET])[0])
    assert cut > 0  # the budget cut some runs: their exported end is the budget
    meta = json.loads((tmp_path / "coco" / "jaxcalc-export.json").read_text())
    assert meta["evaluations"].startswith("f + 1 g + 1 D h")


def test_iohinspector_reads_back_the_counts_and_best_values_of_runs_csv(results, tmp_path):
    export_ioh(results, tmp_path / "ioh")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import iohinspector

        manager = iohinspector.DataManager()
        manager.add_folder(str(tmp_path / "ioh" / "bfgs"))
        data = manager.load(monotonic=True, include_meta_data=True)
    overview = manager.overview.sort(["function_id", "run_id"])
    for fid in (1, 8):
        rows = _runs(results, f"f{fid}_")
        mine = overview.filter(overview["function_id"] == fid)
        assert mine["instance"].to_list() == [1, 1, 2, 2, 3, 3]
        assert mine["evals"].to_list() == [int(float(r["evaluations"])) for r in rows]
        np.testing.assert_allclose(
            mine["best_y"].to_numpy(), [float(r["precision"]) for r in rows], rtol=1e-9, atol=1e-12
        )
        # each run's rows: the first evaluation, then its best value falling to best_y
        runs = data.filter(data["function_id"] == fid).sort(["run_id", "evaluations"])
        for run_id, best in zip(mine["run_id"], mine["best_y"], strict=True):
            one = runs.filter(runs["run_id"] == run_id)
            assert one["evaluations"][0] == 1
            assert one["raw_y"][-1] == pytest.approx(best, rel=1e-9, abs=1e-12)
            # the first row reaching the target is at jaxcalc's evaluations to target
        hits = [float(r["evaluations_to_target"]) for r in rows]
        first = [
            next((e for e, y in zip(r["evaluations"], r["raw_y"], strict=True) if y <= TARGET), -1)
            for r in (
                runs.filter(runs["run_id"] == i).to_dict(as_series=False) for i in mine["run_id"]
            )
        ]
        assert first == hits


def test_an_experiment_without_bbob_objectives_is_one_error_for_coco(results, tmp_path):
    copy = tmp_path / "classic"
    shutil.copytree(results, copy)
    metadata = json.loads((copy / "metadata.json").read_text())
    for objective in metadata["config"]["objectives"]:
        objective["name"] = "rosenbrock"
    (copy / "metadata.json").write_text(json.dumps(metadata))
    manifest = json.loads((copy / "manifest.json").read_text())
    for entry in manifest["groups"]:
        entry["family"] = "classic"
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(OutputError, match="no BBOB objective .*use --ioh") as err:
        export_coco(copy, tmp_path / "out")
    assert "\n" not in str(err.value)
    assert not (tmp_path / "out").exists()
    # IOHprofiler's format takes any objective: numbered 1, 2, ... in its own suite
    export_ioh(copy, tmp_path / "ioh")
    meta = json.loads((tmp_path / "ioh" / "bfgs" / "IOHprofiler_f1_rosenbrock.json").read_text())
    assert meta["suite"] == "jaxcalc" and meta["function_name"] == "rosenbrock"


def test_results_without_per_record_counts_are_refused_by_the_cli(results, tmp_path, capsys):
    old = tmp_path / "old"
    shutil.copytree(results, old)
    part = old / "group_000.npz"
    arrays = read_npz(part)
    for key in ("record_counts", "step_counts", "best_values"):
        arrays.pop(key, None)
    write_npz(part, arrays)
    for flag in ("--coco", "--ioh"):
        code, _, err = run_cli(capsys, "export", flag, str(old), str(tmp_path / "out"))
        assert code == 2
        message = err.strip()
        assert message.count("\n") == 0
        assert "group_000.npz has no per-record evaluation counts" in message
        assert not (tmp_path / "out").exists()


def test_cli_export_writes_and_refuses_a_non_empty_out(results, tmp_path, capsys):
    code, out, _ = run_cli(capsys, "export", "--ioh", str(results), str(tmp_path / "ioh"), "--json")
    assert code == 0
    payload = json.loads(out)
    assert payload["runs"] == 12 and payload["format"] == "ioh"
    code, _, err = run_cli(capsys, "export", "--coco", str(results), str(tmp_path / "ioh"))
    assert code == 2
    assert "exists and is not empty" in err


# -------------------------------------------------------------------------------------
# The engine's per-record counts and best values


def test_record_counts_and_best_values_of_gradient_descent_by_hand(x64):
    import jaxcalc

    # gd on x^2 at learning rate 1.05: x -> -1.1 x, so f grows by 1.21 a step and the
    # best value stays f(x0) = 1. One f and one gradient at the start and per step.
    t = jaxcalc.optimize(
        "x**2", "gd", np.array([[1.0]]), steps=6, record_every=2, learning_rate=1.05
    )
    np.testing.assert_allclose(t.values[0], 1.21 ** np.array([0, 2, 4, 6]), rtol=1e-12)
    np.testing.assert_array_equal(t.best_values[0], [1, 1, 1, 1])
    counts = t.evaluations_at_records()
    np.testing.assert_array_equal(counts[0, :, 0], [1, 3, 5, 7])
    np.testing.assert_array_equal(counts[0, :, 1], [1, 3, 5, 7])
    np.testing.assert_array_equal(counts[0, :, 2], [0, 0, 0, 0])
    # a run that stops takes no more steps: x^2 from 0 is a flat start at step 0
    flat = jaxcalc.optimize("x**2", "gd", np.array([[0.0]]), steps=4, record_every=2)
    np.testing.assert_array_equal(flat.evaluations_at_records(0), [[1, 1, 1]])


def test_record_counts_of_a_line_search_match_shorter_runs(x64):
    import jaxcalc

    starts = np.array([[-1.2, 1.0], [2.0, 2.0]])
    long = jaxcalc.optimize("rosenbrock", "bfgs", starts, steps=8, record_every=1)
    short = jaxcalc.optimize("rosenbrock", "bfgs", starts, steps=3, record_every=1)
    # the counts at record 3 are those a 3-step run ends with
    for k, name in enumerate(("function_evaluations", "gradient_evaluations")):
        np.testing.assert_array_equal(long.record_counts[:, 3, k], getattr(short, name))
        np.testing.assert_array_equal(long.record_counts[:, -1, k], getattr(long, name))
    assert (np.diff(long.record_counts, axis=1) >= 0).all()
    # a descent method: the best value so far is the value at the record
    np.testing.assert_array_equal(long.best_values, long.values)


def test_a_runs_rows_by_hand():
    from jaxcalc.exports.runs import _run_rows

    # records at costs 1+1, 6, 10, 14 (f, g counted 1 each in 1-D); the best falls at the
    # first two records after the start, then stays
    counts = np.array([[1, 1, 0], [3, 3, 0], [5, 5, 0], [7, 7, 0]])
    best = np.array([9.0, 4.0, 4.0, 4.0])
    values = np.array([9.0, 4.0, 5.0, 6.0])
    rows, trace = _run_rows(counts, best, values, 1, 1.0, None, 3.0, 16.0)
    # evaluation 1 is f(x0); record 1 (6 evaluations) improves; the end (16 evaluations,
    # 2 steps after the last record) found 3
    assert rows == [(1.0, 9.0, 9.0), (6.0, 4.0, 4.0), (16.0, 3.0, 3.0)]
    assert [r[0] for r in trace] == [1.0, 2.0, 6.0, 10.0, 14.0, 16.0]
    # a budget of 11 keeps the records up to 10 evaluations; the run ends at the budget
    # with the best value recorded within it
    rows, trace = _run_rows(counts, best, values, 1, 1.0, 11.0, 3.0, 16.0)
    assert rows == [(1.0, 9.0, 9.0), (6.0, 4.0, 4.0), (11.0, 4.0, 5.0)]
    assert trace[-1] == (11.0, 4.0, 5.0)
    # a start outside the domain: no finite value, no rows
    assert _run_rows(counts, np.full(4, np.nan), values, 1, 1.0, None, 3.0, 16.0) is None
