"""Parameters as pytrees: optimize, starts sampled per leaf, calculus on pytree functions.

Truth from outside: an optax loop on the pytree itself, closed-form gradients and Hessians
written out by hand, and the initialisers' stated bounds and moments.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxcalc as jc
from jaxcalc.trees import sample_starts, with_template

C = np.array([[1.0, 2.0], [3.0, 0.5], [0.25, 4.0]])


def quadratic(p):
    """sum(C * w^2) + sum((b - 1)^2): gradient 2 C w and 2 (b - 1), Hessian diagonal."""
    return jnp.sum(jnp.asarray(C) * p["w"] ** 2) + jnp.sum((p["b"].reshape(2) - 1.0) ** 2)


def start(shift=0.0):
    return {"w": np.ones((3, 2)) + shift, "b": np.array([0.5, -1.0]) + shift}


def optax_loop(params, steps, learning_rate):
    opt = optax.adam(learning_rate)
    state = opt.init(params)
    path = [params]
    for _ in range(steps):
        grads = jax.grad(quadratic)(params)
        updates, state = opt.update(grads, state, params)
        params = optax.apply_updates(params, updates)
        path.append(params)
    return path


def test_optimize_on_a_pytree_follows_an_optax_loop_per_leaf(x64):
    x0 = jax.tree.map(jnp.asarray, start())
    t = jc.optimize(quadratic, "adam", x0, 20, learning_rate=0.05, record_every=5, gtol=0.0)
    path = optax_loop(x0, 20, 0.05)
    tree = t.params_tree
    assert tree["w"].shape == (5, 3, 2) and tree["b"].shape == (5, 2)  # thinned records
    for i, step in enumerate(range(0, 21, 5)):
        for leaf in ("w", "b"):
            np.testing.assert_allclose(tree[leaf][i], path[step][leaf], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(t.final_params_tree["w"], path[-1]["w"], rtol=1e-12)
    assert t.values[-1] == pytest.approx(float(quadratic(path[-1])), rel=1e-12)


def test_a_batch_of_starts_has_a_leading_axis_on_every_leaf(x64):
    batch = jax.tree.map(lambda *a: np.stack(a), start(0.0), start(1.0), start(-2.0))
    t = jc.optimize(quadratic, "adam", batch, 10, learning_rate=[0.1, 0.01], gtol=0.0)
    assert t.params_tree["w"].shape == (2, 3, 11, 3, 2)
    assert t.final_params_tree["b"].shape == (2, 3, 2)
    for j, shift in enumerate((0.0, 1.0, -2.0)):
        path = optax_loop(jax.tree.map(jnp.asarray, start(shift)), 10, 0.01)
        np.testing.assert_allclose(t.final_params_tree["b"][1, j], path[-1]["b"], rtol=1e-12)


def test_leaves_that_disagree_on_the_number_of_starts_are_named():
    x0 = {"w": np.ones((4, 3, 2)), "b": np.ones((5, 2))}
    with pytest.raises(jc.ConfigError, match=r"x0\['b'\] has 5, x0\['w'\] has 4"):
        jc.optimize(quadratic, "adam", x0, 5)


def test_leaves_that_do_not_fit_the_objective_are_refused():
    x0 = {"w": np.ones((4, 3, 3)), "b": np.ones((4, 2))}
    with pytest.raises(jc.ConfigError, match="does not fit the objective"):
        jc.optimize(quadratic, "adam", x0, 5)
    declared = with_template(quadratic, start())
    with pytest.raises(jc.ConfigError, match=r"x0\['w'\] has shape \(4, 3, 3\)"):
        jc.optimize(declared, "adam", x0, 5)


def test_an_ambiguous_pytree_asks_for_a_template():
    def total(p):
        return jnp.sum(p["a"] ** 2)

    x0 = {"a": np.ones((4, 3))}
    with pytest.raises(jc.ConfigError, match="with_template"):
        jc.optimize(total, "adam", x0, 5)
    t = jc.optimize(with_template(total, {"a": np.zeros(3)}), "adam", x0, 5)
    assert t.params_tree["a"].shape == (4, 6, 3)


@pytest.mark.parametrize(
    ("init", "bound"),
    [("glorot_uniform", np.sqrt(6.0 / (64 + 10))), ("he_uniform", np.sqrt(6.0 / 64))],
)
def test_uniform_initialisers_keep_their_bounds_and_variance(init, bound):
    x0 = sample_starts({"w": np.zeros((64, 10)), "b": np.zeros(10)}, 200, init=init, seed=3)
    w = x0["w"]
    assert w.shape == (200, 64, 10) and np.all(x0["b"] == 0)
    assert np.abs(w).max() <= bound
    # a uniform law on [-a, a] has variance a^2 / 3; 128,000 draws put it within 1%
    assert np.var(w) == pytest.approx(bound**2 / 3, rel=0.01)
    assert len({w[i].tobytes() for i in range(200)}) == 200  # every start its own draw


def test_normal_initialiser_and_bad_names():
    x0 = sample_starts({"w": np.zeros((50, 40))}, 10, init="normal", scale=0.5, seed=1)
    assert np.std(x0["w"]) == pytest.approx(0.5, rel=0.02)
    with pytest.raises(jc.ConfigError, match="init must be one of"):
        sample_starts({"w": np.zeros(3)}, 2, init="xavier")


def test_gradient_hessian_and_hvp_of_a_pytree_function(x64):
    x = start()
    g = jc.gradient(quadratic)(x)
    np.testing.assert_allclose(g["w"], 2 * C * x["w"])
    np.testing.assert_allclose(g["b"], 2 * (x["b"] - 1.0))
    h = jc.hessian(quadratic)(x)
    np.testing.assert_allclose(h["w"]["w"].reshape(6, 6), np.diag(2 * C.ravel()))
    np.testing.assert_allclose(h["b"]["b"], 2 * np.eye(2))
    np.testing.assert_allclose(h["w"]["b"], np.zeros((3, 2, 2)))
    v = {"w": np.full((3, 2), 2.0), "b": np.array([1.0, -3.0])}
    hv = jc.hvp(quadratic)(x, v)
    np.testing.assert_allclose(hv["w"], 2 * C * 2.0)
    np.testing.assert_allclose(hv["b"], [2.0, -6.0])


def test_calculus_on_a_batch_of_pytree_points(x64):
    batch = jax.tree.map(lambda *a: np.stack(a), start(0.0), start(1.0))
    g = jc.gradient(quadratic)(batch)
    assert g["w"].shape == (2, 3, 2)
    np.testing.assert_allclose(g["w"][1], 2 * C * (np.ones((3, 2)) + 1.0))
    h = jc.hessian(quadratic)(batch)
    assert h["w"]["w"].shape == (2, 3, 2, 3, 2)
    v = {"w": np.ones((3, 2)), "b": np.ones(2)}  # one direction at every point
    np.testing.assert_allclose(jc.hvp(quadratic)(batch, v)["w"], np.broadcast_to(2 * C, (2, 3, 2)))


def test_a_large_pytree_keeps_each_runs_last_finite_point_like_a_loop_per_run(x64):
    # 300 numbers: the runs axis is first, where the engine writes back only the runs that
    # do not take their step. f = sum(w^2 - log w), minimum at w = 1/sqrt(2); gd's map
    # w - lr (2w - 1/w) converges at rate 0 for lr = 1/4 (a run that stops early), slowly
    # for lr = 0.01 (a run that goes to the last step), and at lr = 0.6 its slope is -1.4,
    # so a start near the minimum oscillates outwards until a coordinate turns negative
    # and f is NaN in the middle of the run
    from jaxcalc.engine import program

    def f(p):
        return jnp.sum(p["w"] ** 2 - jnp.log(p["w"]))

    rng = np.random.default_rng(5)
    w0 = 2**-0.5 + rng.uniform(-1e-3, 1e-3, (2, 300))
    assert w0.shape[1] >= program.RUNS_FIRST_DIM
    rates, steps = [0.25, 0.01, 0.6], 60
    t = jc.optimize(
        with_template(f, {"w": w0[0]}),
        "gd",
        {"w": w0},
        steps,
        learning_rate=rates,
        record_every=5,
    )
    seen = set()
    for i, rate in enumerate(rates):
        for j in range(2):
            path = [w0[j]]  # the loop per run: every point until one leaves log's domain
            while len(path) <= steps and (path[-1] > 0).all():
                w = path[-1]
                path.append(w - rate * (2 * w - 1 / w))
            status, event = t.status[i, j], t.event_step[i, j]
            seen.add(str(status))
            if status == "diverged_nonfinite":  # the first point outside, not taken
                assert event == len(path) - 1 and (path[-1] <= 0).any()
            stop = steps if status == "max_steps" else event
            kept = path[stop] if status != "diverged_nonfinite" else path[stop - 1]
            np.testing.assert_allclose(t.final_params[i, j], kept, rtol=1e-12)
            for r, k in enumerate(range(0, steps + 1, 5)):  # frozen after the stop
                expected = path[k] if k < stop else kept
                np.testing.assert_allclose(t.params[i, j, r], expected, rtol=1e-12)
            assert t.gradient_evaluations[i, j] == 1 + stop  # the point not taken was evaluated
    assert seen == {"converged", "max_steps", "diverged_nonfinite"}
    assert (t.event_step[0] < 10).all() and (t.event_step[2] > 5).all()


@pytest.mark.parametrize("every, unroll_numbers", [(1, None), (3, 0)])
def test_a_coordinatewise_method_on_a_large_pytree_runs_on_its_leaves(
    x64, monkeypatch, every, unroll_numbers
):
    # 312 numbers in leaves of three shapes: runs first, and Adam and SGD with momentum
    # treat every coordinate on their own, so the engine carries the leaves (no flat
    # point in the loop). Truth: optax's own loop on the pytree, one run at a time, with
    # f = sum(w^2 - log w) + sum(v^2) + sum((b - 1)^2), which turns NaN at the first step
    # that makes a coordinate of w negative (the large rate); that point is not taken
    from jaxcalc.engine import program

    carried = []
    use_leaves = program.Program.use_leaves

    def spy(self, model, hyper):
        carried.append(use_leaves(self, model, hyper))
        return carried[-1]

    monkeypatch.setattr(program.Program, "use_leaves", spy)
    if unroll_numbers is not None:  # two steps per loop iteration at any size
        monkeypatch.setattr(program, "UNROLL_NUMBERS", unroll_numbers)

    def f(p):
        return (
            jnp.sum(p["w"] ** 2 - jnp.log(p["w"]))
            + jnp.sum(p["v"] ** 2)
            + jnp.sum((p["b"] - 1) ** 2)
        )

    rng = np.random.default_rng(3)
    x0 = {
        "w": 2**-0.5 + rng.uniform(-0.2, 0.2, (2, 300)),
        "v": rng.normal(size=(2, 3, 3)),
        "b": rng.normal(size=(2, 3)),
    }
    assert program.RUNS_FIRST_DIM <= 300 + 9 + 3
    steps = 30
    for name, factory, hyper in (
        ("adam", optax.adam, {"learning_rate": [0.05, 2.0]}),
        ("sgd", lambda lr: optax.sgd(lr, momentum=0.5), {"learning_rate": [0.05, 0.9]}),
    ):
        extra = {"momentum": 0.5} if name == "sgd" else {}
        objective = with_template(f, jax.tree.map(lambda a: a[0], x0))
        t = jc.optimize(objective, name, x0, steps, record_every=every, gtol=0.0, **hyper, **extra)
        assert carried[-1] is True
        statuses = set()
        for i, rate in enumerate(hyper["learning_rate"]):
            for j in range(2):
                params = jax.tree.map(lambda a, j=j: jnp.asarray(a[j]), x0)
                opt = factory(rate)
                state = opt.init(params)
                path = [params]
                for _ in range(steps):
                    updates, state = opt.update(jax.grad(f)(params), state, params)
                    params = optax.apply_updates(params, updates)
                    if not np.isfinite(float(f(params))):
                        break
                    path.append(params)
                status = str(t.status[i, j])
                statuses.add(status)
                taken = len(path) - 1
                if status == "diverged_nonfinite":
                    assert t.event_step[i, j] == taken + 1
                else:
                    assert status == "max_steps" and taken == steps
                tree = t.params_tree
                for r in range(steps // every + 1):
                    expected = path[min(r * every, taken)]
                    for leaf in ("w", "v", "b"):
                        np.testing.assert_allclose(
                            tree[leaf][i, j, r], expected[leaf], rtol=1e-12, atol=1e-14
                        )
        assert statuses == {"max_steps", "diverged_nonfinite"}


@pytest.mark.parametrize(
    ("method", "leafwise"),
    [
        ("adam", True),
        ("sgd", True),
        ("rmsprop", True),
        ("adamw", True),
        ("gd", True),
        ("bfgs", False),  # a curvature model over the whole vector and a line search
        ("lbfgs", False),
        ("gd_armijo", False),  # a line search: f at trial points
        ("lamb", False),  # a trust ratio: norms of the whole leaf
    ],
)
def test_which_methods_treat_every_coordinate_on_its_own(method, leafwise):
    from jaxcalc.engine.options import Limits
    from jaxcalc.engine.program import Program
    from jaxcalc.optimizers import get_optimizer
    from jaxcalc.trees import FlatObjective, Template

    opt = get_optimizer(method)
    template = Template.of({"w": np.zeros((20, 16)), "b": np.zeros(16)})
    program = Program(
        FlatObjective(lambda p: jnp.sum(p["w"] ** 2) + jnp.sum(p["b"] ** 2), template),
        opt,
        Limits(gtol=0.0, f_limit=1e20, x_limit=1e10, patience=5),
        5,
        1,
    )
    program.axis = 0
    hyper = {k: jnp.float32(v) for k, v in opt.defaults.items() if v is not None}
    assert program.model(template.size, np.float32, hyper).coordinatewise is leafwise


def test_a_chain_with_a_global_norm_keeps_the_flat_point():
    from jaxcalc.engine.traces import coordinatewise

    def step(tx):
        def run(g, x):
            state = tx.init(x)
            updates, _ = tx.update(g, state, x)
            return optax.apply_updates(x, updates)

        return jax.make_jaxpr(run)(jnp.zeros(7), jnp.zeros(7)).jaxpr

    elementwise = optax.chain(optax.scale_by_adam(), optax.scale(-1e-2))
    clipped = optax.chain(optax.clip_by_global_norm(1.0), optax.adamw(1e-2))
    assert coordinatewise(step(elementwise), [True, True], 7) == ["vector"]
    assert coordinatewise(step(clipped), [True, True], 7) is None
