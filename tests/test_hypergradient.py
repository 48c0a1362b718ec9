"""Gradients of whole runs with respect to hyperparameters: closed forms on a quadratic and
central finite differences of whole runs of the engine (an independent code path), float64."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxcalc as jc
from jaxcalc.errors import ConfigError

A = np.array([1.0, 4.0])
X0 = np.array([[1.0, -2.0], [0.5, 1.5]])


def quadratic(x):
    return 0.5 * jnp.sum(jnp.asarray(A) * x**2)


def test_gd_final_loss_closed_form(x64):
    """gd on 0.5 sum a x^2: L(lr) = 0.5 sum a (1 - lr a)^(2T) x0^2, differentiated by hand."""
    steps, rates = 25, np.array([0.05, 0.2])
    h = jc.hypergradient(quadratic, "gd", X0, steps, learning_rate=list(rates))
    assert h.loss.shape == (2, 2) and h.wrt == ("learning_rate",)
    for i, lr in enumerate(rates):
        q = 1.0 - lr * A
        loss = 0.5 * np.sum(A * q ** (2 * steps) * X0**2, axis=1)
        slope = 0.5 * np.sum(A * 2 * steps * q ** (2 * steps - 1) * (-A) * X0**2, axis=1)
        np.testing.assert_allclose(h.loss[i], loss, rtol=1e-12)
        np.testing.assert_allclose(h.gradient["learning_rate"][i], slope, rtol=1e-10)
    assert h.finite.all()


def whole_run_loss(optimizer, kind, steps, **hyper):
    """The loss of whole runs of the engine (jc.optimize), no stopping test in the way."""
    t = jc.optimize(quadratic_quartic, optimizer, X0, steps, gtol=1e-300, **hyper)
    return t.final_values if kind == "final" else t.values.mean(axis=-1)


def quadratic_quartic(x):
    return 0.5 * jnp.sum(jnp.asarray(A) * x**2) + 0.05 * jnp.sum(x**4)


@pytest.mark.parametrize(
    ("optimizer", "hyper", "wrt", "kind"),
    [
        ("adam", {"learning_rate": 0.05, "b1": 0.8}, "b1", "mean"),
        ("sgd", {"learning_rate": 0.02, "momentum": 0.9}, "momentum", "final"),
        (
            "sgd",
            {
                "learning_rate": jc.schedule(
                    "exponential_decay", init_value=0.05, transition_steps=1, decay_rate=0.97
                )
            },
            "learning_rate.decay_rate",
            "final",
        ),
    ],
)
def test_against_central_differences_of_whole_runs(x64, optimizer, hyper, wrt, kind):
    steps, eps = 30, 1e-6
    h = jc.hypergradient(quadratic_quartic, optimizer, X0, steps, wrt=wrt, loss=kind, **hyper)
    base = {k: v for k, v in hyper.items()}
    if "." in wrt:  # a schedule's parameter: perturb it inside the schedule
        name, key = wrt.split(".", 1)
        spec = hyper[name]

        def at(v):
            return {**base, name: jc.schedule(spec.name, **{**spec.floats, **spec.static, key: v})}

        value = spec.floats[key]
    else:

        def at(v):
            return {**base, wrt: v}

        value = hyper[wrt]
    up = whole_run_loss(optimizer, kind, steps, **at(value + eps))
    down = whole_run_loss(optimizer, kind, steps, **at(value - eps))
    central = (up - down) / (2 * eps)
    np.testing.assert_allclose(h.gradient[wrt], central, rtol=1e-6)
    np.testing.assert_allclose(h.loss, whole_run_loss(optimizer, kind, steps, **hyper), rtol=1e-12)


def test_checkpoint_blocks_do_not_change_the_result(x64):
    """Blocks of 1, isqrt(steps) and all steps give the same gradient (with a remainder)."""
    grads = [
        jc.hypergradient(
            quadratic_quartic, "gd", X0, 13, learning_rate=0.05, checkpoint_every=every
        ).gradient["learning_rate"]
        for every in (1, None, 13)
    ]
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-13)
    np.testing.assert_allclose(grads[0], grads[2], rtol=1e-13)


def test_diverging_run_is_reported_in_its_lane(x64):
    h = jc.hypergradient(lambda x: jnp.sum(x**4), "gd", [[0.1], [10.0]], 20, learning_rate=0.1)
    assert h.finite.tolist() == [True, False]


def test_bad_arguments():
    with pytest.raises(ConfigError, match="cannot be differentiated in reverse mode"):
        jc.hypergradient(quadratic, "gd_armijo", X0[0], 5)
    with pytest.raises(ConfigError, match="no float hyperparameter 'lr'"):
        jc.hypergradient(quadratic, "gd", X0[0], 5, wrt="lr")
    with pytest.raises(ConfigError, match="loss must be"):
        jc.hypergradient(quadratic, "gd", X0[0], 5, loss="last")
    with pytest.raises(ConfigError, match="checkpoint_every"):
        jc.hypergradient(quadratic, "gd", X0[0], 5, checkpoint_every=9)


def test_through_an_optax_chain(x64):
    """The learning rate of a chain of optax transformations (injected hyperparameters),
    against central differences of whole engine runs of the same chain."""
    opt, _ = jc.optimizers.chain_optimizer(
        [{"name": "clip_by_global_norm", "max_norm": 2.0}, {"name": "sgd", "learning_rate": 0.05}]
    )
    h = jc.hypergradient(quadratic_quartic, opt, X0, 20, wrt="learning_rate")
    eps = 1e-6
    up, down = (
        jc.optimize(quadratic_quartic, opt, X0, 20, gtol=1e-300, learning_rate=v).final_values
        for v in (0.05 + eps, 0.05 - eps)
    )
    np.testing.assert_allclose(h.gradient["learning_rate"], (up - down) / (2 * eps), rtol=1e-6)


def test_callable_schedule_is_named_not_dropped(x64):
    """A callable schedule's numbers are compiled in: with nothing else to differentiate
    by, the call is refused (never an empty gradient); asked for by name, it is refused."""
    lr = optax.exponential_decay(0.1, 1, 0.9)
    with pytest.raises(ConfigError, match=r"learning_rate follows a callable schedule.*jc\.sched"):
        jc.hypergradient(quadratic, "gd", X0, 10, learning_rate=lr)
    with pytest.raises(ConfigError, match=r"adam\.learning_rate follows a callable schedule"):
        jc.hypergradient(quadratic, "adam", X0, 10, learning_rate=lr, wrt="learning_rate")
    # the other hyperparameters still are: b1 against central differences of whole runs
    h = jc.hypergradient(quadratic, "adam", X0, 10, learning_rate=lr, wrt="b1")
    eps = 1e-6
    up, down = (
        jc.optimize(quadratic, "adam", X0, 10, gtol=1e-300, learning_rate=lr, b1=b).final_values
        for b in (0.9 + eps, 0.9 - eps)
    )
    np.testing.assert_allclose(h.gradient["b1"], (up - down) / (2 * eps), rtol=1e-6)


def test_pytree_starts_on_a_data_objective(x64):
    """An MLP on a small synthetic dataset, its parameters a pytree: the hypergradient of
    the momentum and the learning rate, per start, against central differences of whole
    engine runs from the same pytree starts; one pytree start gives that start's entry."""
    from jaxcalc.objectives import data_objective

    f = data_objective(
        "mlp", "synthetic_multiclass", hidden=[4], activation="tanh", rows=40, features=3
    )
    x0 = f.starts(3, seed=0)
    assert isinstance(x0, dict) or not isinstance(x0, np.ndarray)  # a pytree, not a vector
    steps, hyper = 12, {"learning_rate": 0.3, "momentum": 0.6}
    h = jc.hypergradient(f, "sgd", x0, steps, **hyper)
    assert h.loss.shape == (3,) and set(h.wrt) == {"learning_rate", "momentum"}

    def runs(**changed):
        kwargs = {**hyper, **changed}
        return jc.optimize(f, "sgd", x0, steps, gtol=1e-300, **kwargs).final_values

    np.testing.assert_allclose(h.loss, runs(), rtol=1e-12)
    eps = 1e-6
    for k, v in hyper.items():
        central = (runs(**{k: v + eps}) - runs(**{k: v - eps})) / (2 * eps)
        np.testing.assert_allclose(h.gradient[k], central, rtol=1e-6)
    one = jax.tree.map(lambda leaf: leaf[1], x0)
    alone = jc.hypergradient(f, "sgd", one, steps, **hyper)
    assert alone.loss.shape == ()
    np.testing.assert_allclose(alone.gradient["momentum"], h.gradient["momentum"][1], rtol=1e-12)


def test_minibatch_objective_is_refused():
    from jaxcalc.objectives import data_objective

    f = data_objective("logistic_regression", "synthetic_binary", rows=40, batch_size=8)
    with pytest.raises(ConfigError, match="minibatches.*without batch_size"):
        jc.hypergradient(f, "sgd", f.starts(2), 5, learning_rate=0.1)
