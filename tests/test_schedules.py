"""Learning-rate (and any float hyperparameter) schedules, against optax and hand loops."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxcalc as jc
from jaxcalc.errors import ConfigError
from jaxcalc.optimizers.schedules import SCHEDULE_NAMES, Scheduled, parse_schedule, schedule

# f(x) = 0.5 * sum(a * x^2): gd's step is x <- (1 - lr_k a) x, a product in closed form
A = np.array([1.0, 4.0])
X0 = np.array([1.0, -2.0])


def quadratic(x):
    return 0.5 * jnp.sum(jnp.asarray(A) * x**2)


def gd_closed_form(rates):
    """gd's iterates on the quadratic: x_k = prod_{j<k} (1 - lr_j a) * x0 (by hand)."""
    factors = np.cumprod(1.0 - np.outer(rates, A), axis=0)
    return np.vstack([X0, factors * X0])


def optax_loop(f, tx, x0, steps):
    """optax's own loop (each update compiled, as XLA compiles the engine's step)."""
    x = jnp.asarray(x0)
    state = tx.init(x)
    update, grad = jax.jit(tx.update), jax.jit(jax.grad(f))
    out = [x]
    for _ in range(steps):
        updates, state = update(grad(x), state, x)
        x = optax.apply_updates(x, updates)
        out.append(x)
    return np.asarray(out)


# one set of arguments per optax schedule (the join and sgdr are tested on their own)
ARGUMENTS = {
    "constant": {"value": 0.1},
    "cosine_decay": {"init_value": 0.1, "decay_steps": 30, "alpha": 0.1, "exponent": 2.0},
    "cosine_onecycle": {"transition_steps": 30, "peak_value": 0.2},
    "exponential_decay": {
        "init_value": 0.1,
        "transition_steps": 3,
        "decay_rate": 0.8,
        "staircase": True,
        "end_value": 0.02,
    },
    "linear": {"init_value": 0.1, "end_value": 0.01, "transition_steps": 20},
    "linear_onecycle": {"transition_steps": 30, "peak_value": 0.2},
    "piecewise_constant": {"init_value": 0.1, "boundaries_and_scales": {"10": 0.5, "20": 0.1}},
    "piecewise_interpolate": {
        "interpolate_type": "cosine",
        "init_value": 0.1,
        "boundaries_and_scales": {"5": 2.0, "25": 0.1},
    },
    "polynomial": {"init_value": 0.1, "end_value": 0.0, "power": 2.0, "transition_steps": 25},
    "warmup_constant": {"init_value": 0.0, "peak_value": 0.1, "warmup_steps": 5},
    "warmup_cosine_decay": {
        "init_value": 0.0,
        "peak_value": 0.1,
        "warmup_steps": 5,
        "decay_steps": 30,
        "end_value": 0.01,
    },
    "warmup_exponential_decay": {
        "init_value": 0.0,
        "peak_value": 0.1,
        "warmup_steps": 5,
        "transition_steps": 4,
        "decay_rate": 0.5,
        "end_value": 0.01,
    },
}


def optax_schedule(name, arguments):
    kwargs = dict(arguments)
    if "boundaries_and_scales" in kwargs:
        kwargs["boundaries_and_scales"] = {
            int(k): v for k, v in kwargs["boundaries_and_scales"].items()
        }
    function = name if name == "exponential_decay" else f"{name}_schedule"
    return getattr(optax.schedules, function)(**kwargs)


def test_every_optax_schedule_is_accepted():
    assert set(ARGUMENTS) | {"join", "sgdr"} == set(SCHEDULE_NAMES)


@pytest.mark.parametrize("name", sorted(ARGUMENTS))
def test_schedule_values_equal_optax(x64, name):
    """Rebuilt from traced parameters inside a program, a schedule gives optax's values
    (to float32 rounding: optax divides its int32 step count in float32, and the two
    programs may fuse that arithmetic differently)."""
    spec = schedule(name, **ARGUMENTS[name])
    params = {k: jnp.asarray(v) for k, v in spec.parameters("lr").items()}
    steps = jnp.arange(40, dtype=jnp.int32)
    ours = jax.jit(lambda p: jax.vmap(spec.build(p, "lr"))(steps))(params)
    theirs = jax.jit(jax.vmap(optax_schedule(name, ARGUMENTS[name])))(steps)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-12)


def test_name_with_suffix_and_join(x64):
    plain = schedule("cosine_decay", init_value=0.1, decay_steps=10)
    suffixed = schedule("cosine_decay_schedule", init_value=0.1, decay_steps=10)
    assert plain == suffixed
    join = parse_schedule(
        {
            "schedule": "join",
            "schedules": [
                {"schedule": "linear", "init_value": 0.0, "end_value": 0.1, "transition_steps": 5},
                {"schedule": "cosine_decay", "init_value": 0.1, "decay_steps": 20},
            ],
            "boundaries": [5],
        },
        "lr",
    )
    assert set(join.parameters("lr")) == {"lr.0.init_value", "lr.0.end_value", "lr.1.init_value"}
    reference = optax.join_schedules(
        [optax.linear_schedule(0.0, 0.1, 5), optax.cosine_decay_schedule(0.1, 20)], [5]
    )
    params = {k: jnp.asarray(v) for k, v in join.parameters("lr").items()}
    steps = jnp.arange(30, dtype=jnp.int32)
    np.testing.assert_allclose(
        jax.vmap(join.build(params, "lr"))(steps), jax.vmap(reference)(steps), atol=1e-15
    )


def test_adam_with_optax_schedule_follows_optax_loop(x64):
    """A callable schedule for adam's learning rate: optax's own loop with optax.adam(schedule),
    to 1e-12, and the recorded value of each record is the schedule at the step that
    produced it (record i: step i*record_every - 1)."""
    lr = optax.warmup_cosine_decay_schedule(0.0, 0.3, 5, 40)
    t = jc.optimize(quadratic, "adam", X0, 40, learning_rate=lr, record_every=5)
    reference = optax_loop(quadratic, optax.adam(lr), X0, 40)[::5]
    np.testing.assert_allclose(t.params, reference, atol=1e-12)
    history = t.hyperparameter_history["learning_rate"]
    assert history.shape == (9,) and np.isnan(history[0])
    expected = [float(lr(jnp.int32(i * 5 - 1))) for i in range(1, 9)]
    np.testing.assert_allclose(history[1:], expected, rtol=1e-6)


@pytest.mark.parametrize("optimizer", ["gd", "sgd"])
def test_callable_schedule_alone_on_gd_and_sgd(x64, optimizer):
    """A callable schedule as the only hyperparameter with a value (gd; sgd without
    momentum): x_{k+1} = x_k - s(k) a x_k, the product in closed form, on two starts."""
    lr = optax.exponential_decay(0.25, 5, 0.5, staircase=True)  # powers of 2: exact
    starts = np.vstack([X0, -2.0 * X0])
    t = jc.optimize(quadratic, optimizer, starts, 20, learning_rate=lr, gtol=1e-300)
    rates = 0.25 * 0.5 ** (np.arange(20) // 5)
    for i, scale in enumerate([1.0, -2.0]):
        np.testing.assert_allclose(t.params[i], scale * gd_closed_form(rates), rtol=1e-12)
    np.testing.assert_allclose(t.hyperparameter_history["learning_rate"][1:], rates, rtol=1e-12)


def test_gd_schedule_sweep_in_one_program(x64):
    """gd with an exponential decay, its decay rate swept: each lane is the closed-form
    product; a second call with other values reuses the compiled program."""
    rates = [0.9, 0.5]
    t = jc.optimize(
        quadratic,
        "gd",
        X0,
        30,
        learning_rate={
            "schedule": "exponential_decay",
            "init_value": 0.3,
            "transition_steps": 1,
            "decay_rate": rates,
        },
    )
    assert t.sweep == ("learning_rate.decay_rate",)
    for i, r in enumerate(rates):
        expected = gd_closed_form(0.3 * r ** np.arange(30))
        np.testing.assert_allclose(t.params[i], expected, rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(
            t.hyperparameter_history["learning_rate"][i, 1:3], [0.3, 0.3 * r]
        )
    again = jc.optimize(
        quadratic,
        "gd",
        X0,
        30,
        learning_rate={
            "schedule": "exponential_decay",
            "init_value": 0.2,
            "transition_steps": 1,
            "decay_rate": [0.7, 0.6],
        },
    )
    assert again.compile_seconds == 0.0  # same program: the values are data
    np.testing.assert_allclose(again.params[1], gd_closed_form(0.2 * 0.6 ** np.arange(30)))


def test_gd_armijo_initial_step_follows_schedule(x64):
    """Small initial steps always pass Armijo's test on the quadratic, so gd_armijo with a
    scheduled initial step is gd with that schedule (hand-computed)."""
    spec = {
        "schedule": "exponential_decay",
        "init_value": 0.2,
        "transition_steps": 1,
        "decay_rate": 0.8,
        "end_value": 0.05,
    }
    t = jc.optimize(quadratic, "gd_armijo", X0, 15, initial_step=spec)
    rates = np.maximum(0.2 * 0.8 ** np.arange(15), 0.05)
    np.testing.assert_allclose(t.params, gd_closed_form(rates), rtol=1e-12, atol=1e-15)


def test_projected_gd_follows_schedule(x64):
    """Projected gd onto the box [0.5, 2]^2 with a decaying step, against a hand loop."""
    box = jc.constraints.Box(np.array([0.5, 0.5]), np.array([2.0, 2.0]))
    spec = schedule("cosine_decay", init_value=0.4, decay_steps=12)
    t = jc.optimize(quadratic, "projected_gd", [1.5, 1.8], 12, learning_rate=spec, constraints=box)
    x = np.array([1.5, 1.8])
    path = [x]
    for k in range(12):
        lr = 0.4 * 0.5 * (1 + np.cos(np.pi * k / 12))
        x = np.clip(x - lr * A * x, 0.5, 2.0)
        path.append(x)
    np.testing.assert_allclose(t.params, np.asarray(path), rtol=1e-12)


def test_schedule_errors():
    with pytest.raises(ConfigError, match=r"unknown schedule 'cosine_decy'.*'cosine_decay'"):
        schedule("cosine_decy", init_value=0.1, decay_steps=10)
    with pytest.raises(ConfigError, match=r"decay_step.*did you mean 'decay_steps'"):
        schedule("cosine_decay", init_value=0.1, decay_step=10)
    with pytest.raises(ConfigError, match="needs decay_steps"):
        schedule("cosine_decay", init_value=0.1)
    with pytest.raises(ConfigError, match="whole number"):
        schedule("cosine_decay", init_value=0.1, decay_steps=2.5)
    with pytest.raises(ConfigError, match="cannot be swept"):
        schedule("cosine_onecycle", transition_steps=10, peak_value=0.1, div_factor=[25.0, 5.0])
    with pytest.raises(ConfigError, match="2 schedules need 1 boundaries"):
        parse_schedule(
            {
                "schedule": "join",
                "schedules": [{"schedule": "constant", "value": 1.0}] * 2,
                "boundaries": [],
            },
            "lr",
        )


def test_schedule_out_of_range_at_some_step_is_refused():
    """Negative or NaN at any step of the run: refused before compiling, naming the key."""
    down = {"schedule": "linear", "init_value": 0.1, "end_value": -0.1, "transition_steps": 20}
    jc.optimize(quadratic, "gd", X0, 10, learning_rate=down)  # still >= 0 within 10 steps
    with pytest.raises(ConfigError, match=r"gd\.learning_rate:.* gives -0\.01 at step 11"):
        jc.optimize(quadratic, "gd", X0, 30, learning_rate=down)
    nan_late = lambda k: jnp.where(k < 7, 0.1, jnp.nan)  # noqa: E731
    with pytest.raises(ConfigError, match=r"adam\.learning_rate:.* gives nan at step 7"):
        jc.optimize(quadratic, "adam", X0, 20, learning_rate=nan_late)
    with pytest.raises(ConfigError, match=r"momentum.*in \[0, 1\]"):
        jc.optimize(quadratic, "sgd", X0, 20, momentum=lambda k: 0.5 + 0.1 * k)
    with pytest.raises(ConfigError, match=r"at learning_rate\.init_value=-0\.1"):
        jc.optimize(
            quadratic,
            "gd",
            X0,
            5,
            learning_rate=schedule("constant", value=0.1)
            if False
            else schedule("cosine_decay", init_value=[0.1, -0.1], decay_steps=5),
        )


def test_schedule_for_unknown_hyperparameter():
    with pytest.raises(ConfigError, match=r"no float hyperparameter 'learning_rat'.*learning_rate"):
        jc.optimize(quadratic, "adam", X0, 5, learning_rat=optax.constant_schedule(0.1))


def test_scheduled_wrapper_keeps_declarations():
    method, given = jc.optimizers.schedules.with_schedules(
        jc.optimizers.get_optimizer("gd_armijo"),
        {"initial_step": schedule("constant", value=[1.0, 0.5]), "c1": 1e-3},
    )
    assert isinstance(method, Scheduled) and method.name == "gd_armijo"
    assert not method.stackable and method.requires.gradient
    assert given == {"c1": 1e-3, "initial_step.value": [1.0, 0.5]}
    assert method.with_options(max_trials=5).inner.options["max_trials"] == 5


def test_history_figure(tmp_path):
    from jaxcalc.plotting import plot_hyperparameter_history, save_figure

    t = jc.optimize(
        quadratic,
        "gd",
        X0,
        40,
        record_every=4,
        learning_rate=schedule("cosine_decay", init_value=[0.1, 0.2], decay_steps=40),
    )
    fig = plot_hyperparameter_history(t)
    line = fig.axes[0].lines[1]
    np.testing.assert_allclose(line.get_xdata(), np.arange(1, 11) * 4 - 1)
    expected = 0.2 * 0.5 * (1 + np.cos(np.pi * (np.arange(1, 11) * 4 - 1) / 40))
    np.testing.assert_allclose(line.get_ydata(), expected, rtol=1e-5, atol=1e-7)
    save_figure(fig, tmp_path / "lr.png")
    with pytest.raises(ConfigError, match="no scheduled hyperparameter"):
        plot_hyperparameter_history(jc.optimize(quadratic, "gd", X0, 5))
