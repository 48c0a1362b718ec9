"""Every config shipped in configs/ validates (a broken example is a bug)."""

from pathlib import Path

import pytest

from jaxcalc.pipeline.config import load_config

CONFIGS = sorted((Path(__file__).resolve().parents[2] / "configs").glob("*.toml"))


def test_there_are_configs():
    assert {p.stem for p in CONFIGS} >= {"smoke", "course", "classic", "bbob", "lr_sweep"}


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_config_validates(path):
    config = load_config(path)
    assert config.objectives and config.optimizers
    assert len(config.hash()) == 64
