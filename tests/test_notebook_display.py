"""What a notebook user sees: no backend change on import, figures into a given axes, short
reprs, plots and data frames of a Trajectory, a derivative that says what it is.

Oracles: matplotlib's own state (the backend named before the import), closed forms (the
minimum of the sphere at 0; d/dx 3x^2 + 1 = 6x), sympy for the symbolic form, the
Okabe-Ito palette's published hex values, and the run's own arrays for the data frame
(each row is compared with the array element at its index).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import jax.numpy as jnp
import matplotlib
import numpy as np
import pytest
import sympy as sp

import jaxcalc as jc
from jaxcalc import plotting
from jaxcalc.objectives import get

ROOT = Path(__file__).resolve().parent.parent


def test_importing_jaxcalc_keeps_the_callers_backend():
    # a backend the caller chose (svg here, as a notebook chooses its inline one) survives
    # importing jaxcalc, its plotting and drawing a report's figure
    code = (
        "import matplotlib; matplotlib.use('svg'); import jaxcalc, jaxcalc.plotting; "
        "import jaxcalc.pipeline.report as r; r._Figures.subplots(); "
        "print(matplotlib.get_backend())"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("MPLBACKEND", None)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.strip() == "svg"


def test_plots_draw_into_a_given_axes():
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2)
    try:
        assert plotting.plot_function(np.sin, (0, 3), ax=left) is fig
        assert plotting.plot_objective(get("booth"), ax=right) is fig
        assert len(fig.axes) == 3  # the two axes and the contour's colour bar
        assert left.get_xlabel() == "x" and left.get_ylabel() == "y"
        assert (right.get_xlabel(), right.get_ylabel()) == ("x1", "x2")
        assert "f minus its smallest value" in fig.axes[2].get_ylabel()
    finally:
        plt.close(fig)


def test_the_palette_is_okabe_ito_and_settings_keep_their_optimizers_colour():
    # Okabe & Ito (2008): the eight colours, as published
    assert {c.upper() for c in plotting.PALETTE} == {
        "#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7",
    }  # fmt: skip
    styles = plotting.optimizer_styles(
        {"gd": ["gd"], "newton": ["newton"], "adam": ["adam (lr=0.1)", "adam (lr=1)"]}
    )
    assert styles["gd"]["color"] != styles["newton"]["color"]  # blue and orange
    assert styles["gd"]["color"] == matplotlib.colors.to_rgb("#0072B2")
    assert styles["newton"]["color"] == matplotlib.colors.to_rgb("#E69F00")
    a, b = (np.asarray(styles[k]["color"]) for k in ("adam (lr=0.1)", "adam (lr=1)"))
    green = np.asarray(matplotlib.colors.to_rgb("#009E73"))
    for shade in (a, b):  # shades of green: on the line from black through green to white
        darker = np.allclose(np.cross(shade, green), 0, atol=1e-9)
        lighter = np.allclose(np.cross(1 - shade, 1 - green), 0, atol=1e-9)
        assert darker or lighter, shade
    assert not np.allclose(a, b)
    assert styles["adam (lr=0.1)"]["linestyle"] != styles["adam (lr=1)"]["linestyle"]


def test_a_slice_of_a_three_dimensional_objective_goes_through_its_minimiser():
    import matplotlib.pyplot as plt

    rosen = get("rosenbrock", 3)
    fig = plotting.plot_objective(rosen, grid=40)
    try:
        ax = fig.axes[0]
        assert "slice through (1, 1, 1): x3 = 1" in ax.get_title()
        np.testing.assert_array_equal(plotting.slice_point(rosen), [1.0, 1.0, 1.0])
        np.testing.assert_array_equal(plotting.slice_point(rosen, [0, 2, 3]), [0.0, 2.0, 3.0])
    finally:
        plt.close(fig)
    with pytest.raises(jc.ConfigError, match="2 coordinates; rosenbrock has 3"):
        plotting.plot_objective(rosen, slice_at=[1, 2])


@pytest.fixture(scope="module")
def sweep():
    starts = np.array([[1.0, 2.0], [-3.0, 0.5], [0.2, -0.1]])
    return jc.optimize(get("sphere", 2), "gd", starts, 30, learning_rate=[0.1, 0.4])


def test_a_trajectory_prints_in_one_short_line(sweep):
    text = repr(sweep)
    assert len(text) < 300 and "\n" not in text
    assert text.startswith("Trajectory(gd on sphere")
    assert "learning_rate=[0.1, 0.4]" in text
    assert "6 runs (learning_rate (2) x 3 starts), dim 2, 30 steps" in text
    counts = ", ".join(f"{k} {v}" for k, v in sweep.status_counts().items())
    assert f"status: {counts}" in text
    # gd on the sphere: x_k = (1 - 2 lr)^k x_0, so lr=0.4 shrinks f by 0.04 a step: after
    # 30 steps (or a stop at gtol) the best f is far below 1e-10, and never below 0
    assert 0 <= float(text.rsplit("best f ", 1)[1].rstrip(")")) < 1e-10
    page = sweep._repr_html_()
    assert page.startswith("<table>") and "learning_rate=[0.1, 0.4]" in page


def test_a_trajectory_shows_its_schedules_and_unknown_hyperparameters():
    """A schedule is shown with its function and arguments (the numbers it was built from),
    another callable as "schedule <name>"; a raw optax transformation says that none of
    its hyperparameters are known, an injected one shows them."""
    import optax

    f, x0 = get("booth"), np.array([[0.0, 0.0], [1.0, -1.0]])
    t = jc.optimize(f, "adam", x0, 4, learning_rate=optax.cosine_decay_schedule(0.1, 10))
    assert (
        "adam on booth; learning_rate=cosine_decay_schedule(alpha=0, decay_steps=10, "
        "exponent=1, init_value=0.1), b1=0.9, b2=0.999" in repr(t)
    )
    swept = jc.schedule(
        "exponential_decay", init_value=[0.1, 0.2], transition_steps=5, decay_rate=0.5
    )
    t = jc.optimize(f, "gd", x0, 4, learning_rate=swept)
    text = repr(t)
    assert (
        "gd on booth; learning_rate=exponential_decay(init_value=(0.1, 0.2), decay_rate=0.5, "
        "transition_steps=5);" in text
    )
    assert "4 runs (learning_rate.init_value (2) x 2 starts)" in text
    assert "learning_rate.init_value=" not in text  # shown once, inside the schedule
    t = jc.optimize(f, "sgd", x0, 4, learning_rate=lambda k: 0.01 / (1.0 + k))
    assert "sgd on booth; learning_rate=schedule <lambda>" in repr(t)
    assert "learning_rate=schedule &lt;lambda&gt;" in t._repr_html_()
    raw = jc.optimize(f, optax.chain(optax.clip_by_global_norm(1.0), optax.adamw(1e-3)), x0, 4)
    assert "transformation on booth; no hyperparameters known;" in repr(raw)
    injected = jc.optimize(f, optax.inject_hyperparams(optax.sgd)(learning_rate=0.05), x0, 4)
    assert "transformation on booth; learning_rate=0.05" in repr(injected)


def test_a_trajectory_as_a_data_frame_has_one_row_per_run(sweep):
    pd = pytest.importorskip("pandas")
    frame = sweep.to_pandas()
    assert isinstance(frame, pd.DataFrame)
    assert len(frame) == 6
    for _, row in frame.iterrows():
        i = (int(row["learning_rate"] == 0.4), int(row["start"]))
        assert row["status"] == sweep.status[i]
        assert row["final_value"] == sweep.final_values[i]
        assert (row["x1"], row["x2"]) == tuple(sweep.final_params[i])


@pytest.mark.filterwarnings("error")
def test_to_pandas_of_a_pytree_model_builds_one_frame():
    """156 parameters: every coordinate a column, without pandas' fragmentation warning
    (warnings are errors here). gd on sum (w - 1)^2 + sum b^2 with lr 0.1 multiplies each
    coordinate's distance to its minimum by 0.8 a step: the last columns in closed form."""
    pd = pytest.importorskip("pandas")

    def loss(p):
        return jnp.sum((p["w"] - 1.0) ** 2) + jnp.sum(p["b"] ** 2)

    f = jc.with_template(loss, {"b": jnp.zeros(12), "w": jnp.zeros((12, 12))})
    rng = np.random.default_rng(0)
    x0 = {"b": rng.normal(size=(2, 12)), "w": rng.normal(size=(2, 12, 12))}
    t = jc.optimize(f, "gd", x0, 5, learning_rate=0.1, gtol=0.0)
    frame = t.to_pandas()
    assert isinstance(frame, pd.DataFrame) and len(frame) == 2
    columns = [f"x{d + 1}" for d in range(156)]
    assert list(frame.columns[-156:]) == columns
    np.testing.assert_array_equal(frame[columns].to_numpy(), np.asarray(t.final_params))
    np.testing.assert_array_equal(frame["final_value"].to_numpy(), t.final_values)
    # leaves in jax.tree.leaves order: b (12) then w (144), flattened per start
    by_hand = np.hstack([x0["b"] * 0.8**5, 1.0 + (x0["w"] - 1.0).reshape(2, -1) * 0.8**5])
    np.testing.assert_allclose(frame[columns].to_numpy(), by_hand, rtol=1e-5, atol=1e-6)


def test_to_pandas_without_pandas_says_what_to_install(sweep, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match="pip install pandas"):
        sweep.to_pandas()


def test_a_trajectory_plots_its_bands_and_paths(sweep):
    import matplotlib.pyplot as plt

    axes = sweep.plot()
    try:
        convergence, paths = axes
        assert [line.get_label() for line in convergence.get_lines()] == [
            "gd (learning_rate=0.1)",
            "gd (learning_rate=0.4)",
        ]
        assert convergence.get_xlabel() == "step" and convergence.get_yscale() in ("log", "symlog")
        assert (paths.get_xlabel(), paths.get_ylabel()) == ("x1", "x2")
        # the median band of lr=0.1 at step 0 is the median of the three starts' f
        f0 = np.median(np.sum(np.asarray(sweep.params)[0, :, 0, :] ** 2, axis=-1))
        assert convergence.get_lines()[0].get_ydata()[0] == pytest.approx(f0)
    finally:
        plt.close("all")
    ax = sweep.plot(kind="convergence")
    assert ax.get_title() == "gd on sphere: convergence"
    plt.close("all")


def test_a_derivative_says_what_it_is():
    d = jc.derivative("3x^2 + 1")
    assert float(d(2.0)) == 12.0
    assert repr(d) == "Derivative(1st derivative of 3x^2 + 1 = 6*x)"
    second = jc.derivative("sin(x)*exp(x)", 2)
    x = sp.Symbol("x")
    assert sp.simplify(sp.sympify(second.symbolic) - sp.diff(sp.sin(x) * sp.exp(x), x, 2)) == 0
    assert repr(jc.derivative(jnp.sin, 3)) == "Derivative(3rd derivative of sin)"
    assert jc.derivative(jnp.sin, 3).symbolic is None
    # still a function JAX can transform
    import jax

    assert float(jax.grad(d)(1.0)) == 6.0
    assert float(jax.jit(d)(1.0)) == 6.0
