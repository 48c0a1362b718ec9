"""Convergence figures stay readable when a setting diverges.

Oracle: Booth's closed form (x + 2y - 7)^2 + (2x + y - 5)^2 at the saved starts gives the
starts' level of f - f_opt (f_opt = 0), from which the axis top is derived here.
"""

from __future__ import annotations

import math

import numpy as np
from jaxcalc_testing import run_cli

CONFIG = """
name = "axis"
seed = 1
dtype = "float64"

[starts]
count = 8

[run]
steps = 60
record_every = 5
target = 1e-6

[[objectives]]
name = "booth"

[[optimizers]]
name = "sgd"
learning_rate = [0.01, 5.0]   # 5.0 diverges on Booth (Hessian eigenvalues 2 and 18)
"""


def booth(p):
    x, y = p[..., 0], p[..., 1]
    return (x + 2 * y - 7) ** 2 + (2 * x + y - 5) ** 2


def test_a_diverging_setting_does_not_stretch_the_axis(tmp_path, capsys, monkeypatch):
    import jaxcalc.plotting as plotting

    limits = {}
    real = plotting.save_figure

    def spy(fig, path, **options):
        limits[str(path).rsplit("/", 1)[-1]] = [ax.get_ylim() for ax in fig.axes]
        return real(fig, path, **options)

    monkeypatch.setattr(plotting, "save_figure", spy)
    config = tmp_path / "axis.toml"
    config.write_text(CONFIG)
    out = tmp_path / "out"
    code, _, err = run_cli(capsys, "run", str(config), "--out", str(out))
    assert code == 0, err

    part = np.load(out / "group_000.npz")
    assert (np.char.startswith(part["status"][1].astype(str), "diverged")).all()
    starts = part["params"][0, :, 0, :]  # the learning rates share the starts
    level = np.quantile(booth(starts), 0.75)
    cap = 10.0 ** (math.ceil(math.log10(level)) + 2)
    steps_axis, evals_axis = limits["convergence_booth.png"]
    assert steps_axis[1] == evals_axis[1] == cap
    report = (out / "report.md").read_text()
    assert f"y axis cut at {cap:.0e}" in report
    assert "8 of 8 runs diverged" in report


STYLES_CONFIG = """
name = "styles"
seed = 0
dtype = "float64"

[starts]
count = 4

[run]
steps = 200
record_every = 5
target = 1e-6

[[objectives]]
name = "booth"

[[objectives]]
name = "sphere"
dim = 2

[[optimizers]]
name = "sgd"
learning_rate = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1]

[[optimizers]]
name = "adam"
learning_rate = [0.01, 0.03, 0.1, 0.3, 1.0]
"""


def test_ecdf_and_profile_tell_more_than_ten_settings_apart(tmp_path, capsys, monkeypatch):
    # 12 settings: matplotlib's colour cycle repeats after 10, so colour alone would give
    # two settings the same line; every line must differ in colour or dash, and a setting
    # must look the same in both figures
    import jaxcalc.plotting as plotting

    lines = {}
    real = plotting.save_figure

    def spy(fig, path, **options):
        name = str(path).rsplit("/", 1)[-1]
        lines[name] = {
            line.get_label(): (line.get_color(), line.get_linestyle())
            for ax in fig.axes
            for line in ax.get_lines()
            if not line.get_label().startswith("_")
        }
        return real(fig, path, **options)

    monkeypatch.setattr(plotting, "save_figure", spy)
    config = tmp_path / "styles.toml"
    config.write_text(STYLES_CONFIG)
    code, _, err = run_cli(capsys, "run", str(config), "--out", str(tmp_path / "out"))
    assert code == 0, err
    for name in ("ecdf.png", "performance_profile.png"):
        styles = lines[name]
        assert len(styles) == 12, name
        assert len(set(styles.values())) == 12, name
    assert lines["ecdf.png"] == lines["performance_profile.png"]
    # one colour per optimizer: sgd's settings are shades of Okabe-Ito blue (#0072B2, blue
    # the strongest channel), adam's of its orange (#E69F00, red the strongest)
    from matplotlib.colors import to_rgb

    for label, (color, _) in lines["ecdf.png"].items():
        strongest = int(np.argmax(to_rgb(color)))
        assert strongest == (2 if label.startswith("sgd") else 0), (label, color)


def test_log_axes_in_plain_text_name_the_same_ticks():
    """Oracle: each tick's value written by hand as a power of ten (10⁻⁴, −10², 0)."""
    from matplotlib.figure import Figure

    from jaxcalc.plotting import plain_powers

    superscript = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
    ax = Figure().subplots()
    ax.set_yscale("symlog", linthresh=1e-6)
    ax.set_xscale("log")
    plain_powers(ax)
    ax.set_ylim(-1e3, 1e3)
    ax.set_xlim(1e-5, 1e5)
    checked = []
    for axis in (ax.xaxis, ax.yaxis):
        values = axis.get_majorticklocs()
        labels = axis.major.formatter.format_ticks(values)
        for value, label in zip(values, labels, strict=True):
            if label == "" or "$" in label:  # unlabelled, or not a power of ten
                continue
            if value == 0:
                assert label == "0"
                checked.append(label)
                continue
            sign = "\N{MINUS SIGN}" if value < 0 else ""
            power = str(round(math.log10(abs(value)))).translate(superscript)
            assert label == f"{sign}10{power}", (value, label)
            checked.append(label)
    assert {"10⁻⁴", "10⁵", "\N{MINUS SIGN}10²", "10²", "0"} <= set(checked)
