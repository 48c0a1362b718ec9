"""Shards and merge: ``jaxcalc run --shard i/N``, ``jaxcalc merge``, ``jaxcalc plan``.

Oracle: the same config run unsharded. The merged ``summary.csv`` and ``runs.csv`` must
equal it in every column but the timings; the batch assignment is checked against the
longest-processing-time rule worked by hand.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from jaxcalc_testing import run_cli

from jaxcalc.errors import ConfigError
from jaxcalc.pipeline.shard import assign, parse_shard

CONFIG = """
name = "sharded"
seed = 7
dtype = "float64"

[starts]
count = 4

[run]
steps = 30
record_every = 5
target = 1e-3

[[objectives]]
name = "booth"

[[objectives]]
name = "himmelblau"

[[optimizers]]
name = "sgd"
learning_rate = 0.01

[[optimizers]]
name = "adam"
learning_rate = [0.05, 0.2]

[[optimizers]]
name = "bfgs"
"""
TIMINGS = {"compile_seconds", "run_seconds"}


def rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The config run whole, and as three shards merged (run once for the module)."""
    capsys = _NoCapture()
    tmp = tmp_path_factory.mktemp("shards")
    config = tmp / "sharded.toml"
    config.write_text(CONFIG)
    whole = tmp / "whole"
    code, _, err = run_cli(
        capsys, "run", str(config), "--out", str(whole), "--no-report", "--quiet"
    )
    assert code == 0, err
    shards = []
    for i in range(3):
        out = tmp / f"shard{i}"
        code, _, err = run_cli(
            capsys, "run", str(config), "--shard", f"{i}/3", "--out", str(out), "--quiet"
        )
        assert code == 0, err
        shards.append(out)
    merged = tmp / "merged"
    code, _, err = run_cli(
        capsys, "merge", *map(str, reversed(shards)), "--out", str(merged), "--no-report"
    )
    assert code == 0, err
    return {"config": config, "whole": whole, "shards": shards, "merged": merged, "tmp": tmp}


class _NoCapture:
    """run_cli's capsys for a module fixture (output is not checked there)."""

    def readouterr(self):
        return "", ""


@pytest.mark.parametrize("table", ["summary.csv", "runs.csv"])
def test_merged_shards_equal_the_unsharded_run(runs, table):
    whole, merged = rows(runs["whole"] / table), rows(runs["merged"] / table)
    assert len(whole) == len(merged) > 0
    for a, b in zip(whole, merged, strict=True):
        assert {k: v for k, v in a.items() if k not in TIMINGS} == {
            k: v for k, v in b.items() if k not in TIMINGS
        }


def test_shards_hold_whole_programs_and_every_group_once(runs):
    manifests = [json.loads((s / "manifest.json").read_text()) for s in runs["shards"]]
    groups = [g for m in manifests for g in m["shard"]["groups"]]
    assert sorted(groups) == list(range(6))
    # sgd and adam of one objective share a program: always in the same shard
    for m in manifests:
        for entry in m["groups"]:
            shared = entry.get("program_shared_with")
            if shared:
                mates = {
                    e["optimizer"] for e in m["groups"] if e["objective"] == entry["objective"]
                }
                assert set(shared) <= mates
        assert m["status"] == "complete" and not (m.get("figures") or [])
    merged = json.loads((runs["merged"] / "manifest.json").read_text())
    assert merged["status"] == "complete" and "shard" not in merged
    assert merged["groups_done"] == 6 and merged["merged_from"] == ["0/3", "1/3", "2/3"]


def test_assignment_follows_the_longest_processing_time_rule():
    # by hand: 5 -> s0 (5), 4 -> s1 (4), 3 -> s1 (7), 3 -> s0 (8), 2 -> s1 (9)
    assert assign([5.0, 4.0, 3.0, 3.0, 2.0], 2) == [[0, 3], [1, 2, 4]]
    assert assign([1.0, 1.0], 4) == [[0], [1], [], []]
    assert assign([2.0, 1.0, 3.0], 1) == [[0, 1, 2]]


@pytest.mark.parametrize(
    "text, needle",
    [
        ("3/3", "in 0..2"),
        ("-1/2", "in 0..1"),
        ("0/0", "at least 1"),
        ("1", "INDEX/COUNT"),
        ("a/b", "INDEX/COUNT"),
        ("1/2/3", "INDEX/COUNT"),
    ],
)
def test_malformed_shards_are_refused(text, needle):
    with pytest.raises(ConfigError, match=needle):
        parse_shard(text)
    assert parse_shard(" 2 / 5 ").index == 2


def test_a_bad_shard_flag_writes_nothing(runs, capsys, tmp_path):
    out = tmp_path / "never"
    code, _, err = run_cli(capsys, "run", str(runs["config"]), "--shard", "4/4", "--out", str(out))
    assert code == 2 and "--shard" in err and "0..3" in err and "\n" not in err.strip()
    assert not out.exists()


def _merge(capsys, *folders, out):
    return run_cli(capsys, "merge", *map(str, folders), "--out", str(out))


def test_merge_refuses_missing_duplicated_and_foreign_shards(runs, capsys, tmp_path):
    s0, s1, s2 = runs["shards"]
    out = tmp_path / "m"
    code, _, err = _merge(capsys, s0, s2, out=out)
    assert code == 2 and "shard 1/3 missing" in err
    code, _, err = _merge(capsys, s0, s1, s1, s2, out=out)
    assert code == 2 and "shard 1/3 is given twice" in err
    code, _, err = _merge(capsys, s0, s1, runs["whole"], out=out)
    assert code == 2 and "unsharded run" in err
    code, _, err = _merge(capsys, s0, s1, tmp_path / "nowhere", out=out)
    assert code == 2 and "is not a folder" in err
    assert not out.exists()


def test_merge_refuses_shards_of_another_config(runs, capsys, tmp_path):
    import shutil

    s0, s1, s2 = runs["shards"]
    other = tmp_path / "other"
    shutil.copytree(s1, other)
    manifest = json.loads((other / "manifest.json").read_text())
    manifest["config_hash"] = "0" * 64
    (other / "manifest.json").write_text(json.dumps(manifest))
    out = tmp_path / "m"
    code, _, err = _merge(capsys, s0, other, s2, out=out)
    assert code == 2 and "config hash" in err and str(other) in err
    assert not out.exists()


def test_an_incomplete_shard_is_named_and_resumes_alone(runs, capsys, tmp_path):
    import shutil

    s0, s1, s2 = runs["shards"]
    cut = tmp_path / "cut"
    shutil.copytree(s1, cut)
    manifest = json.loads((cut / "manifest.json").read_text())
    dropped = manifest["groups"].pop()
    manifest.update(status="interrupted", groups_done=len(manifest["groups"]))
    (cut / "manifest.json").write_text(json.dumps(manifest))
    out = tmp_path / "m"
    code, _, err = _merge(capsys, s0, cut, s2, out=out)
    assert code == 2 and "shard 1/3" in err and "incomplete" in err and "--resume" in err
    assert not out.exists()
    # resumed as another shard: refused; as itself: computes only the dropped group
    code, _, err = run_cli(
        capsys, "run", str(runs["config"]), "--shard", "0/3", "--out", str(cut), "--resume"
    )
    assert code == 2 and "shard 1/3 -> shard 0/3" in err
    code, _, err = run_cli(
        capsys, "run", str(runs["config"]), "--shard", "1/3", "--out", str(cut), "--resume",
        "--quiet",
    )  # fmt: skip
    assert code == 0, err
    assert (
        json.loads((cut / "manifest.json").read_text())["groups_done"]
        == len(manifest["groups"]) + 1
    )
    code, _, err = _merge(capsys, s0, cut, s2, out=out)
    assert code == 0, err
    assert rows(out / "runs.csv") == rows(runs["merged"] / "runs.csv")
    assert dropped["index"] in json.loads((cut / "manifest.json").read_text())["shard"]["groups"]


def test_plan_splits_the_work_into_shards(runs, capsys):
    code, out, err = run_cli(capsys, "plan", str(runs["config"]), "--shards", "3", "--json")
    assert code == 0, err
    plan = json.loads(out)
    shards = plan["shards"]
    assert len(shards) == 3
    # 2 objectives x (sgd 4 + adam 8 + bfgs 4) lanes, 30 steps each
    assert sum(s["lanes"] for s in shards) == 2 * 16
    assert sum(s["run_steps"] for s in shards) == 2 * 16 * 30
    manifests = [json.loads((s / "manifest.json").read_text()) for s in runs["shards"]]
    for s, m in zip(shards, manifests, strict=True):
        assert sorted(g for p in s["programs"] for g in p["groups"]) == sorted(m["shard"]["groups"])
    code, out, err = run_cli(capsys, "plan", str(runs["config"]), "--costs", str(runs["whole"]))
    assert code == 0, err and "measured for" in out
    code, _, err = run_cli(capsys, "plan", str(runs["config"]), "--shards", "0")
    assert code == 2 and "at least 1" in err
