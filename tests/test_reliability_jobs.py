"""Heavy jobs and what runs report: issue 16 sections 1 and 8, and the rows N*, O* and R*
of the reliability catalogue (../shared/RELIABILITY.md), one test per row.

Each test id names its row (``N3``, ``O7``, ``R1``) or the issue's section (``S1``,
``S8``). Every row runs a small check of the required behaviour against a closed form, a
NumPy loop or the documented message; rows whose requirement is not met yet are marked
``xfail(strict=True)`` with the reason, so they fail loudly once fixed.
"""

from __future__ import annotations

import re
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jaxcalc_testing import precision, run_cli

from jaxcalc import STATUSES, check_derivative, derivative, optimize, optimize_many, tangent_line
from jaxcalc.calculus import gradient
from jaxcalc.engine import MAX_RUNS, estimate, plan
from jaxcalc.engine.result import MAX_STEPS
from jaxcalc.errors import ConfigError, ResourceError
from jaxcalc.pipeline.plan import check_run_estimate, estimate_run

ROOT = Path(__file__).resolve().parents[1]
GIB = 1 << 30


@pytest.fixture(scope="module", autouse=True)
def float64():
    """float64 unless a row asks for float32 (the ``x32`` fixture)."""
    with precision(True):
        yield


@pytest.fixture
def small_memory(monkeypatch):
    """A machine with 1 GiB for results, whatever this one has."""
    monkeypatch.setattr(plan, "host_budget", lambda: GIB)
    return GIB


def quartic(x):
    return jnp.sum(x**4)


def cube(x):
    return jnp.sum(x**3)


def x_minus_log(x):
    return jnp.sum(x - jnp.log(x))


# ---------------------------------------------------------------------------------------
# Issue 16 section 1: heavy jobs are planned before anything is allocated


def test_S1_cli_two_million_starts_refused_with_estimate_limit_and_keys(capsys, small_memory):
    """`optimize rosenbrock --starts 2000000 --steps 1000` (was: numpy's 59.7 GiB
    allocation traceback) is one line: the estimate, the limit and what reduces it."""
    code, out, err = run_cli(
        capsys, "optimize", "rosenbrock", "--optimizer", "adam", "--starts", "2000000"
    )
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("jaxcalc: error: optimize:")
    # 2e6 runs x 1001 records x (2 + 3) float64 numbers, plus per-run outputs
    assert "2000000 runs x 1001 records" in err and "74.8 GiB" in err
    assert "limit is 1.0 GiB" in err
    assert "--starts" in err and "--record-every" in err
    every = int(re.search(r"--record-every (\d+) fits", err).group(1))
    fits = estimate([("adam", {})], 2_000_000, 1000, 2, record_every=every, check=False)
    assert fits.result_bytes <= GIB


def test_S1_cli_starts_1e20_is_one_line(capsys):
    """`--starts 1e20` (was: a JAX traceback from sampling) is refused before sampling."""
    code, out, err = run_cli(
        capsys, "optimize", "rosenbrock", "--optimizer", "adam", "--starts", "1e20"
    )
    assert code == 2 and "Traceback" not in err
    assert f"limit is {MAX_RUNS}" in err and "100000000000000000000 runs" in err


def test_S1_cli_starts_accepts_scientific_whole_numbers(capsys):
    code, out, _ = run_cli(
        capsys, "optimize", "sphere", "--optimizer", "gd", "--starts", "2e1", "--steps", "5"
    )
    assert code == 0 and "20 starts x 5 steps" in out


def test_S1_cli_steps_checked_before_starts(capsys):
    """A bad --steps is reported even with an impossible --starts: it is checked first."""
    code, _, err = run_cli(
        capsys, "optimize", "sphere", "--optimizer", "gd", "--starts", "1e20", "--steps", "0"
    )
    assert code == 2 and "--steps 0" in err and f"1 to {MAX_STEPS}" in err


def test_S1_sweep_product_is_capped_before_the_grid_exists():
    """Three sweeps of 1000 values: 10^9 runs, refused before any grid is built."""
    values = list(np.linspace(0.01, 0.1, 1000))
    with pytest.raises(ResourceError, match=r"1000000000 (points|runs)"):
        optimize("sphere", "adam", [1.0, 1.0], 10, learning_rate=values, b1=values, b2=values)


def test_S1_optimize_and_optimize_many_refuse_jobs_over_memory(small_memory):
    """10^4 starts x 10^4 steps, every step kept (R1's example): ~3 GiB in float64."""
    starts = np.zeros((10_000, 2))
    with pytest.raises(ResourceError, match=r"10000 runs x 10001 records.*record_every=\d+"):
        optimize("sphere", "gd", starts, 10_000)
    with pytest.raises(ResourceError, match=r"20000 runs x 10001 records"):
        optimize_many("sphere", [("gd", {}), ("adam", {})], starts, 10_000)


def test_S1_estimate_counts_records_dtype_and_sweeps():
    job = estimate([("adam", {"learning_rate": [0.1, 0.2, 0.3]})], 100, 1000, 2, record_every=10)
    assert (job.runs, job.records, job.itemsize) == (300, 101, 8)
    # per record: the 2-D point, f, the gradient norm and the best f so far
    assert job.result_bytes == 300 * (101 * 5 + 3 * 2 + 12) * 8
    f32 = estimate([("adam", {})], 100, 1000, 2, dtype=np.float32)
    assert f32.itemsize == 4


def test_S1_run_dry_run_prints_the_estimate_and_writes_nothing(capsys, tmp_path):
    out = tmp_path / "never"
    config = ROOT / "configs" / "smoke.toml"
    code, text, _ = run_cli(capsys, "run", str(config), "--dry-run", "--out", str(out))
    assert code == 0 and "dry run" in text and "memory: ~" in text and "disk: ~" in text
    assert not out.exists()


def test_S1_run_refused_when_results_exceed_memory_or_disk(tmp_path, small_memory):
    from jaxcalc.pipeline.config import load_config

    config = load_config(ROOT / "configs" / "smoke.toml")
    planned = estimate_run(config)
    assert planned.disk_bytes > 0 and planned.memory_bytes > 0
    with pytest.raises(ResourceError, match=r"on disk; 1 B free .*starts.count.*record_every"):
        check_run_estimate(planned, tmp_path, free=1)
    with pytest.raises(ResourceError, match=r"of memory at once.*limit is 1 B"):
        check_run_estimate(planned, tmp_path, memory_limit=1)


def test_S1_run_cli_refuses_a_huge_config_before_writing(capsys, tmp_path, small_memory):
    out = tmp_path / "big"
    config = ROOT / "configs" / "smoke.toml"
    code, _, err = run_cli(
        capsys, "run", str(config), "--out", str(out), "--set", "starts.count=10000000"
    )
    assert code == 2 and "run: the results need" in err and "starts.count" in err
    assert not out.exists()


# ---------------------------------------------------------------------------------------
# Issue 16 section 8: statuses that say what happened


@pytest.mark.parametrize("method", ["newton", "lion"])
def test_S8_rosenbrock_far_out_is_diverged_not_unbounded(method):
    """Rosenbrock is bounded below by f_opt = 0: running away from 1e16 is `diverged`."""
    t = optimize("rosenbrock", method, np.array([[1e16, 1e16]]), 50)
    assert t.status[0] == "diverged"


def test_S8_expression_without_a_bound_still_reports_unbounded():
    t = optimize(cube, "gd", np.array([[-1.0]]), 100, learning_rate=0.1, f_limit=1e6)
    assert t.status[0] == "unbounded"


def test_S8_declared_lower_bound_and_box_only_minima():
    from jaxcalc.objectives import get

    assert get("rosenbrock").floor == 0.0
    assert get("schwefel").floor is None  # f_opt is a minimum on the box only
    assert get("course_x3_minus_inv_x").floor is None


def test_S8_float32_overflow_at_start_is_overflow(x32):
    """f ~ 1e62 at (1e15, 1e15) overflows float32; log at -1 is a domain error."""
    t = optimize("rosenbrock", "adam", np.array([[1e15, 1e15], [1.0, 2.0]], np.float32), 5)
    assert list(t.status) == ["overflow", "max_steps"] and t.event_step[0] == 0
    t = optimize(x_minus_log, "gd", np.array([[-1.0], [0.0]], np.float32), 5)
    assert list(t.status) == ["domain_error_at_start"] * 2


def test_S8_every_status_is_documented_with_an_example():
    from jaxcalc.engine import result

    readme = (ROOT / "README.md").read_text()
    for name in STATUSES:
        assert f"- `{name}`:" in readme, name
        para = re.search(rf"^``{name}``\n((?:    .*\n)+)", result.__doc__, re.M)
        assert para and "``" in para.group(1), name  # an example, in code


# The README's example of each status, run: (status, objective, optimizer, x0, steps,
# hyperparameters, dtype). The README's list must match this table (checked above).
README_EXAMPLES = [
    ("converged", "x^2", "gd", [1.0], 1000, {}, "float64"),
    ("max_steps", "rosenbrock", "gd", [-1.2, 1.0], 50, {"learning_rate": 1e-5}, "float64"),
    ("diverged_nonfinite", "x^4", "gd", [10.0], 100, {"learning_rate": 0.1}, "float32"),
    ("diverged", "rosenbrock", "newton", [1e16, 1e16], 100, {}, "float64"),
    ("unbounded", "x^3", "gd", [-1.0], 1000, {}, "float64"),
    ("stalled", "x^2", "gd", [1.0], 100, {"learning_rate": 1e-12}, "float32"),
    ("domain_error_at_start", "x - log(x)", "gd", [-1.0], 10, {}, "float64"),
    ("overflow", "rosenbrock", "gd", [1e15, 1e15], 10, {}, "float32"),
    ("non_minimum", "-x^2", "gd", [0.0], 10, {}, "float64"),
    ("flat_start", "x^3", "gd", [0.0], 10, {}, "float64"),
]


def test_S8_the_readme_examples_cover_every_status():
    assert sorted(row[0] for row in README_EXAMPLES) == sorted(STATUSES)


@pytest.mark.parametrize("row", README_EXAMPLES, ids=[row[0] for row in README_EXAMPLES])
def test_S8_each_readme_example_gives_its_status(row, x64):
    status, objective, method, x0, steps, hyper, dtype = row
    t = optimize(objective, method, np.array(x0, dtype), steps, **hyper)
    assert str(t.status) == status


# ---------------------------------------------------------------------------------------
# N: numeric domains


def test_N1_division_by_zero_flags_only_that_point():
    line = tangent_line("x^3 - 1/x", np.array([0.0, 1.0]))
    assert list(line.defined) == [False, True]
    assert "not finite" in tangent_line("x^3 - 1/x", 0.0).reason


def test_N2_abs_at_zero_is_not_presented_as_the_derivative():
    check = check_derivative("abs(x)", 0.0)
    assert not check.differentiable
    assert any("left" in issue and "right" in issue for issue in check.issues)


def test_N3_vertical_tangent_never_has_an_infinite_slope():
    line = tangent_line("sqrt(x)", 0.0)
    assert not line.defined and "vertical tangent" in line.reason
    assert not np.isinf(line.slope)


@pytest.mark.xfail(strict=True, reason="expressions have no `where` (comparisons refused)")
def test_N4_where_hides_an_invalid_branch_with_a_finite_gradient():
    assert float(derivative("where(x > 0, sqrt(x), x)")(-1.0)) == 1.0


def test_N5_norm_at_origin_is_flagged():
    check = check_derivative("sqrt(x^2 + y^2)", [0.0, 0.0])
    assert not check.differentiable and check.issues


def test_N6_negative_base_fractional_power_is_outside_the_real_domain():
    for text in ("x^1.5", "log(x)"):
        check = check_derivative(text, -1.0)
        assert any("real domain" in issue for issue in check.issues), text
    # 0/0 is not finite without a complex value: no claim about the domain
    assert not any("real domain" in i for i in check_derivative("x/x", 0.0).issues)


def test_N7_x_to_the_x_at_zero_is_flagged():
    assert not check_derivative("x^x", 0.0).ok


def test_N8_float32_overflow_is_flagged_with_a_float64_hint(x32):
    check = check_derivative("exp(x)", 89.0)
    assert any("overflow" in issue and "float64" in issue for issue in check.issues)
    # a pole is infinite in every dtype: not an overflow
    assert not any("overflow" in issue for issue in check_derivative("1/x", 0.0).issues)


def test_N9_cancellation_is_right_in_float64():
    """(1 - cos x)/x^2 at 1e-4 is 0.5; float32 is documented as imprecise here."""
    value = jax.jit(lambda x: (1 - jnp.cos(x)) / x**2)(jnp.float64(1e-4))
    assert abs(float(value) - 0.5) < 1e-6


def test_N10_underflowed_gradient_is_not_converged(x32):
    """exp(-x^2) at 10: the float32 gradient is -0.0, far from the minimum's value."""
    t = optimize(lambda x: jnp.exp(-jnp.sum(x**2)), "gd", np.array([[10.0]], np.float32), 10)
    assert t.status[0] in ("flat_start", "flat_region")


def test_N11_integer_inputs_are_cast():
    assert float(derivative("x^2")(2)) == 4.0
    np.testing.assert_array_equal(gradient(lambda v: jnp.sum(v**2))(np.array([1, 2])), [2, 4])


def test_N12_large_argument_in_float32_warns(x32):
    check = check_derivative("sin(x)", 1e8)
    assert any("period" in issue or "resolution" in issue for issue in check.issues)
    assert not any("resolution" in issue for issue in check_derivative("sin(x)", 1e3).issues)


def test_N13_float64_requested_is_float64_used():
    t = optimize("sphere", "gd", np.array([[1.0, 2.0]]), 3)
    assert t.extras["dtype"] == "float64" and t.params.dtype == np.float64


@pytest.mark.skipif(jax.default_backend() == "cpu", reason="TF32 matmuls exist on GPUs only")
def test_N14_gpu_matmul_precision_is_highest(capsys):
    run_cli(capsys, "list", "optimizers")
    assert jax.config.jax_default_matmul_precision == "highest"  # pragma: no cover


def test_N14_cli_sets_highest_matmul_precision():
    """The CPU part of N14: the CLI asks for the highest precision before any work."""
    source = (ROOT / "jaxcalc" / "cli" / "app.py").read_text()
    assert '"jax_default_matmul_precision", "highest"' in source


# ---------------------------------------------------------------------------------------
# O: optimizer divergence and failure


def _numpy_gd_quartic(x, lr, steps):
    x, lr = np.float32(x), np.float32(lr)
    for k in range(1, steps + 1):
        x = x - lr * 4 * x**3
        with np.errstate(over="ignore", invalid="ignore"):
            finite = np.isfinite([x, x**4, 4 * x**3]).all()
        if not finite:
            return k
    return None


def test_O1_each_start_diverges_alone(x32):
    """As measured in float32: starts 3 and 10 become NaN at steps 4 and 3."""
    starts = np.array([[0.5], [1.0], [3.0], [10.0]], np.float32)
    t = optimize(quartic, "gd", starts, 50, learning_rate=0.1)
    assert list(t.status[2:]) == ["diverged_nonfinite"] * 2
    assert list(t.event_step[2:]) == [
        _numpy_gd_quartic(3.0, 0.1, 50),
        _numpy_gd_quartic(10.0, 0.1, 50),
    ]
    assert np.all(np.isfinite(t.params[2:])) and np.all(np.isfinite(t.final_params))
    assert t.status[0] != "diverged_nonfinite" and t.status[1] != "diverged_nonfinite"


def test_O2_adam_with_an_infinite_gradient_is_diverged_nonfinite():
    t = optimize(lambda x: jnp.sum(jnp.sqrt(x)), "adam", np.array([[1.0]]), 20, learning_rate=0.5)
    assert t.status[0] == "diverged_nonfinite" and t.event_step[0] > 0
    assert np.all(np.isfinite(t.final_params))


@pytest.mark.xfail(
    strict=True,
    reason="x^4 and x^3 at 0 both have f' = f'' = 0: the curvature check cannot tell "
    "the minimum from the inflection (x^3 must stay flat_start), so x^4 is flat_start",
)
def test_O3_newton_where_the_second_derivative_vanishes():
    t = optimize(quartic, "newton", np.array([[0.0]]), 10)
    assert t.status[0] == "converged"


def test_O4_a_run_that_ends_on_a_maximum_is_not_converged():
    """Newton (with its modified Hessian) leaves x^3 - 3x's maximum for the minimum at 1;
    a run that stays on a maximum is non_minimum."""
    t = optimize(lambda x: jnp.sum(x**3 - 3 * x), "newton", np.array([[-0.5]]), 20)
    assert t.status[0] == "converged" and abs(float(t.final_params[0, 0]) - 1.0) < 1e-8
    t = optimize(lambda x: -jnp.sum(x**2), "gd", np.array([[0.0]]), 5)
    assert t.status[0] == "non_minimum"


def test_O5_lbfgs_outside_the_domain_is_a_domain_error():
    t = optimize(x_minus_log, "lbfgs", np.array([[-1.0]]), 20)
    assert t.status[0] == "domain_error_at_start" and t.event_step[0] == 0


def test_O6_final_parameters_are_checked(x32):
    t = optimize(x_minus_log, "lbfgs", np.array([[1e-30]], np.float32), 20)
    assert np.all(np.isfinite(t.final_params)) and t.status[0] != "converged"


@pytest.mark.parametrize(
    "fun", [cube, lambda x: -jnp.sum(x**2), lambda x: jnp.sum(x)], ids=["x3", "-x2", "x"]
)
def test_O7_unbounded_below(fun):
    t = optimize(fun, "gd", np.array([[-1.0]]), 300, learning_rate=0.1, f_limit=10.0)
    assert t.status[0] == "unbounded"


def test_O8_no_convergence_is_max_steps_with_a_nonzero_gradient():
    t = optimize("rosenbrock", "gd", np.array([-1.2, 1.0]), 50, learning_rate=1e-5)
    assert t.status == "max_steps" and t.event_step == -1 and t.grad_norms[-1] > 1.0


def test_O9_float32_lbfgs_near_convergence_stays_finite(x32):
    starts = np.array([[1.001, 1.001], [0.9, 0.8]], np.float32)
    t = optimize("rosenbrock", "lbfgs", starts, 100)
    assert not np.isin(t.status, ["diverged_nonfinite"]).any()
    assert np.all(np.isfinite(t.final_params))


def test_O10_line_search_with_a_nan_first_trial_still_moves():
    """From 0.01, gd_armijo's first trial lands at x < 0 where log is NaN; it backtracks."""
    t = optimize(x_minus_log, "gd_armijo", np.array([[0.01], [5.0]]), 50)
    assert list(t.status) == ["converged", "converged"]
    np.testing.assert_allclose(t.final_params[:, 0], 1.0, atol=1e-6)


def test_O11_bfgs_resets_are_counted_per_start():
    """From 0.1 on x^4 - x^2 the first curvature pair is negative: BFGS resets once."""
    t = optimize(lambda x: jnp.sum(x**4 - x**2), "bfgs", np.array([[0.1], [0.9]]), 200)
    assert list(t.resets) == [1, 0] and list(t.status) == ["converged", "converged"]


def test_O12_line_search_trials_are_capped_and_counted_per_start():
    steps, trials = 20, 3
    t = optimize(x_minus_log, "gd_armijo", np.array([[0.01], [5.0]]), steps, max_trials=trials)
    assert np.all(t.function_evaluations <= 1 + steps * (trials + 1))
    assert t.function_evaluations[0] != t.function_evaluations[1]


@pytest.mark.parametrize(
    "method, bad",
    [
        ("gd", {"learning_rate": 0.0}),
        ("adam", {"b1": 1.0}),
        ("lbfgs", {"memory_size": 0}),
    ],
    ids=["lr0", "b1=1", "memory0"],
)
def test_O13_nonsense_hyperparameters_are_refused(method, bad):
    with pytest.raises(ConfigError):
        optimize("sphere", method, [1.0, 1.0], 5, **bad)


def test_O13_zero_steps_is_refused():
    with pytest.raises(ConfigError, match="steps must be an integer from 1"):
        optimize("sphere", "gd", [1.0, 1.0], 0)


# ---------------------------------------------------------------------------------------
# R: resource limits


def test_R1_a_billion_starts_is_refused_before_anything_is_allocated():
    with pytest.raises(ResourceError, match=f"limit is {MAX_RUNS}"):
        estimate([("adam", {})], 10**9, 10, 2)


def test_R1_estimate_names_the_estimate_the_limit_and_the_fix(small_memory):
    with pytest.raises(ResourceError) as err:
        estimate([("adam", {})], 10**4, 10**4, 2)
    text = str(err.value)
    assert "GiB of results" in text and "limit is 1.0 GiB" in text
    assert "starts" in text and "record_every=" in text


def test_R1_chunks_give_the_same_results():
    starts = np.random.default_rng(0).uniform(-2, 2, (40, 2))
    whole = optimize("rosenbrock", "adam", starts, 30)
    cut = optimize("rosenbrock", "adam", starts, 30, chunk_size=16)
    assert cut.chunks == 3
    np.testing.assert_allclose(whole.params, cut.params, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(whole.status, cut.status)


@pytest.mark.parametrize("method", ["adam", "gd", "bfgs"])
@pytest.mark.parametrize("runs", [48, 80])
def test_R1_chunks_give_the_same_bits(method, runs):
    """Chunked transparently: every run's bits equal in one batch, in 16-run chunks and
    alone (with 16-lane blocks, runs of 48- and 80-lane batches differed in the last bit)."""
    starts = np.random.default_rng(0).uniform(-2, 2, (runs, 2))
    whole = optimize("rosenbrock", method, starts, 30)
    cut = optimize("rosenbrock", method, starts, 30, chunk_size=16)
    alone = optimize("rosenbrock", method, starts[-1], 30)
    np.testing.assert_array_equal(whole.params, cut.params)
    np.testing.assert_array_equal(whole.params[-1], alone.params)


def test_R2_huge_steps_are_refused():
    with pytest.raises(ConfigError, match=f"from 1 to {MAX_STEPS}"):
        optimize("sphere", "gd", [1.0, 1.0], 10**9)


@pytest.mark.xfail(strict=True, reason="no wall-clock timeout per chunk (status `timeout`)")
def test_R2_timeout_status_exists():
    assert "timeout" in STATUSES


def test_R3_bfgs_state_that_does_not_fit_suggests_lbfgs():
    with pytest.raises(ResourceError, match="lbfgs instead of bfgs"):
        optimize(lambda x: jnp.sum(x**2), "bfgs", np.zeros((1, 1000)), 2, memory_budget=1 << 20)


def test_R3_bfgs_state_grows_with_dim_squared():
    bfgs = estimate([("bfgs", {})], 10_000, 10, 1000, record_every=10, check=False)
    lbfgs = estimate([("lbfgs", {})], 10_000, 10, 1000, record_every=10, check=False)
    assert bfgs.state_size >= 1000**2 > lbfgs.state_size
    assert bfgs.run_bytes * bfgs.runs >= 10_000 * 1000**2 * 8  # 80 GB of Hessian estimates


def test_R4_new_hyperparameter_values_do_not_recompile():
    starts = np.array([[1.0, 2.0], [3.0, 4.0]])
    optimize("sphere", "gd", starts, 7, learning_rate=0.1)
    again = optimize("sphere", "gd", starts, 7, learning_rate=0.2)
    assert again.compile_seconds == 0.0


def test_R5_no_tracer_leaks():
    with jax.checking_leaks():
        t = optimize("rosenbrock", "bfgs", np.array([[-1.2, 1.0]]), 5)
    assert t.status.shape == (1,)


def test_R6_compile_time_does_not_grow_with_steps():
    x0 = np.array([[1.0, 2.0]])
    short = optimize("booth", "adam", x0, 10, record_every=10)
    long = optimize("booth", "adam", x0, 100_000, record_every=100_000)
    assert long.compile_seconds < 5 * short.compile_seconds + 0.5


@pytest.mark.skipif(jax.default_backend() == "cpu", reason="GPU nondeterminism: GPU only")
def test_R7_gpu_runs_agree_within_tolerance():  # pragma: no cover
    x0 = np.random.default_rng(1).uniform(-2, 2, (64, 2))
    a = optimize("rosenbrock", "bfgs", x0, 50)
    b = optimize("rosenbrock", "bfgs", x0, 50)
    np.testing.assert_allclose(a.final_values, b.final_values, rtol=1e-6)


@pytest.mark.skipif(jax.default_backend() == "cpu", reason="GPU preallocation: GPU only")
def test_R8_gpu_out_of_memory_is_a_resource_error():  # pragma: no cover
    with pytest.raises(ResourceError, match="XLA_PYTHON_CLIENT_PREALLOCATE"):
        optimize("sphere", "gd", np.zeros((10**7, 100)), 10**4, record_every=10**4)


def test_R9_chunks_are_the_unit_of_work():
    """Chunked execution (where an interrupt can land between chunks) keeps every run."""
    starts = np.random.default_rng(2).uniform(-1, 1, (33, 2))
    t = optimize("sphere", "gd", starts, 20, chunk_size=16)
    assert t.chunks == 3 and t.status.shape == (33,)
    np.testing.assert_array_equal(t.params[:, 0], starts)


def test_S1_a_failed_chunk_stops_the_job_instead_of_running_the_rest(monkeypatch):
    """A worker whose chunk fails ends the job at once: the chunks not started are dropped,
    and the error reaches the caller (no thread is left running the rest)."""
    calls = []
    real = plan.chunk_inputs

    def failing(layout, padded, lo, hi, *rest):
        calls.append(lo)
        if lo == 64:
            raise MemoryError("chunk 1")
        return real(layout, padded, lo, hi, *rest)

    monkeypatch.setattr(plan, "chunk_inputs", failing)
    # 4000 runs x 1000 steps run on 2 threads; the budget holds 64 runs per thread: 63 chunks
    per_run = plan.estimate_bytes(1, 1000, 1000, 1, 8, 2)
    with pytest.raises(MemoryError):
        optimize(
            quartic,
            "gd",
            np.full((4000, 1), 0.5),
            1000,
            record_every=1000,
            learning_rate=1e-3,
            memory_budget=2 * 64 * per_run,
            cpu_threads=2,
        )
    assert 2 <= len(calls) < 20


def test_S1_a_long_optimize_says_so_before_it_starts(capsys, monkeypatch):
    from jaxcalc.cli import objective_commands

    monkeypatch.setattr(objective_commands, "LONG_RUN_STEPS", 100)
    code, _, err = run_cli(
        capsys, "optimize", "sphere", "--optimizer", "gd", "--starts", "20", "--steps", "5"
    )
    assert code == 0 and "20 runs x 6 records" in err and "can take" in err


def test_S1_an_address_space_limit_bounds_the_budget(monkeypatch):
    """Under `ulimit -v` XLA aborts the process past the limit: a quarter of it is the most
    a job's results may take."""
    import resource

    monkeypatch.setattr(resource, "getrlimit", lambda which: (8 * GIB, 8 * GIB))
    assert plan.host_budget() <= 2 * GIB
    with pytest.raises(ResourceError, match="ulimit -v"):
        estimate([("adam", {})], 50_000_000, 1, 2)
