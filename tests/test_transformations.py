"""Any optax GradientTransformation as an optimizer; chains of named ones in configs; schedules
and chains from TOML and the CLI. Checked against optax's own loop in float64."""

import json
import re

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxcalc as jc
from jaxcalc.cli.app import main
from jaxcalc.errors import ConfigError
from jaxcalc.optimizers.schedules import Scheduled
from jaxcalc.optimizers.transformations import (
    TransformationOptimizer,
    chain_optimizer,
    from_optax,
)
from jaxcalc.pipeline import parse_config

X0 = np.array([2.5, -1.5])
CENTER = np.array([1.0, -2.0])


def bowl(x):
    """A smooth bowl with a quartic term, so the clip and adam's moments both matter."""
    d = x - jnp.asarray(CENTER)
    return jnp.sum(jnp.asarray([1.0, 8.0]) * d**2) + 0.1 * jnp.sum(d**4)


def optax_loop(tx, steps, f=bowl, x0=X0):
    """optax's own loop, each update compiled (XLA may fuse an eager loop differently)."""
    x = jnp.asarray(x0)
    state = tx.init(x)
    update, grad = jax.jit(tx.update), jax.jit(jax.grad(f))
    out = [x]
    for _ in range(steps):
        updates, state = update(grad(x), state, x)
        x = optax.apply_updates(x, updates)
        out.append(x)
    return np.asarray(out)


def clip_adamw(learning_rate):
    return optax.chain(optax.clip_by_global_norm(1.0), optax.adamw(learning_rate))


def test_chain_object_follows_optax_loop(x64):
    tx = clip_adamw(0.05)
    t = jc.optimize(bowl, tx, X0, 60)
    assert t.optimizer == "transformation"
    np.testing.assert_allclose(t.params, optax_loop(tx, 60), rtol=0, atol=1e-12)


def test_injected_hyperparameters_are_swept(x64):
    """optax.inject_hyperparams exposes the numbers; each lane of a sweep is optax's loop
    with that value."""
    tx = optax.inject_hyperparams(optax.sgd)(learning_rate=0.01, momentum=0.9)
    opt = from_optax(tx, "sgd_injected")
    assert dict(opt.defaults) == {"learning_rate": 0.01, "momentum": 0.9}
    t = jc.optimize(bowl, opt, X0, 40, learning_rate=[0.01, 0.03], momentum=[0.0, 0.5])
    assert t.params.shape == (2, 2, 41, 2)
    for i, lr in enumerate([0.01, 0.03]):
        for j, m in enumerate([0.0, 0.5]):
            reference = optax_loop(optax.sgd(lr, momentum=m), 40)
            np.testing.assert_allclose(t.params[i, j], reference, rtol=0, atol=1e-12)


def test_named_chain_with_sweep_follows_optax(x64):
    opt, sweeps = chain_optimizer(
        [
            {"name": "clip_by_global_norm", "max_norm": 1.0},
            {"name": "adamw", "learning_rate": [0.01, 0.05], "weight_decay": 1e-3},
        ]
    )
    assert isinstance(opt, TransformationOptimizer) and opt.name == "clip_by_global_norm+adamw"
    assert sweeps == {"learning_rate": [0.01, 0.05]}
    assert opt.defaults["weight_decay"] == 1e-3 and opt.defaults["max_norm"] == 1.0
    t = jc.optimize(bowl, opt, X0, 50, **sweeps)
    for i, lr in enumerate([0.01, 0.05]):
        tx = optax.chain(optax.clip_by_global_norm(1.0), optax.adamw(lr, weight_decay=1e-3))
        np.testing.assert_allclose(t.params[i], optax_loop(tx, 50), rtol=0, atol=1e-12)


def test_schedule_on_a_chain_hyperparameter(x64):
    """A schedule for the chain's learning rate is optax's adamw with that schedule."""
    opt, _ = chain_optimizer(
        [{"name": "clip_by_global_norm", "max_norm": 1.0}, {"name": "adamw", "learning_rate": 0.1}]
    )
    spec = {"schedule": "cosine_decay", "init_value": 0.1, "decay_steps": 50}
    t = jc.optimize(bowl, opt, X0, 50, learning_rate=spec)
    tx = clip_adamw(optax.cosine_decay_schedule(0.1, 50))
    np.testing.assert_allclose(t.params, optax_loop(tx, 50), rtol=0, atol=1e-12)


def test_chain_errors():
    with pytest.raises(ConfigError, match=r"unknown optax transformation 'clip_by_global_nrm'"):
        chain_optimizer([{"name": "clip_by_global_nrm", "max_norm": 1.0}])
    with pytest.raises(ConfigError, match=r"chain\[1\]\.learning_rat: .*'learning_rate'"):
        chain_optimizer([{"name": "clip", "max_delta": 1.0}, {"name": "adam", "learning_rat": 1.0}])
    with pytest.raises(ConfigError, match="missing `name`"):
        chain_optimizer([{"learning_rate": 1.0}])
    with pytest.raises(ConfigError, match="non-empty list"):
        chain_optimizer([])
    with pytest.raises(ConfigError, match="GradientTransformation"):
        from_optax(lambda g: g)


# -- configs and the CLI ----------------------------------------------------------------

CONFIG = """\
dtype = "float64"
[run]
steps = 30
[[objectives]]
name = "booth"
[[optimizers]]
name = "adam"
[optimizers.learning_rate]
schedule = "warmup_cosine_decay"
init_value = 0.0
peak_value = [0.1, 0.3]
warmup_steps = 5
decay_steps = 30
[[optimizers]]
label = "clipped"
chain = [
    {name = "clip_by_global_norm", max_norm = 1.0},
    {name = "adamw", learning_rate = [1e-3, 1e-2]},
]
[[optimizers]]
name = "gd"
[optimizers.learning_rate]
schedule = "join"
schedules = [
    {schedule = "constant", value = 0.01},
    {schedule = "exponential_decay", init_value = 0.01, transition_steps = 5, decay_rate = 0.5},
]
boundaries = [10]
"""


def test_config_schedules_and_chain():
    cfg = parse_config(CONFIG)
    adam, chain, gd = cfg.optimizers
    assert isinstance(adam.optimizer, Scheduled)
    assert adam.hyperparameters["learning_rate.peak_value"] == (0.1, 0.3)
    assert adam.sweeps == ("learning_rate.peak_value",)
    assert chain.label == "clipped" and isinstance(chain.optimizer, TransformationOptimizer)
    assert chain.hyperparameters == {"learning_rate": (1e-3, 1e-2)}
    assert set(gd.hyperparameters) == {
        "learning_rate.0.value",
        "learning_rate.1.init_value",
        "learning_rate.1.decay_rate",
    }


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (
            'name = "adam"\nlearning_rate = {schedule = "cosine_decy", init_value = 0.1, '
            "decay_steps = 10}",
            r"line 7 +optimizers\[0\]\.learning_rate .*unknown schedule 'cosine_decy'.*"
            "'cosine_decay'",
        ),
        (
            'name = "adam"\nlearning_rate = {schedule = "cosine_decay", init_value = 0.1}',
            r"optimizers\[0\]\.learning_rate .*needs decay_steps",
        ),
        (
            'name = "gd"\nlearning_rate = {schedule = "linear", init_value = 0.1, '
            "end_value = -0.1, transition_steps = 40}",
            r"optimizers\[0\]\.learning_rate .*gives -0\.005 at step 21",
        ),
        (
            'chain = [{name = "adamw", learning_rat = 0.1}]',
            r"optimizers\[0\]\.chain .*learning_rat.*did you mean 'learning_rate'",
        ),
        ('name = "adam"\nchain = [{name = "adamw"}]', "give `name` or `chain`, not both"),
    ],
)
def test_config_schedule_and_chain_problems(entry, expected):
    text = '[run]\nsteps = 30\n[[objectives]]\nname = "booth"\n[[optimizers]]\n' + entry + "\n"
    with pytest.raises(ConfigError) as info:
        parse_config(text)
    assert "Traceback" not in str(info.value)
    assert len(str(info.value).splitlines()) == 2  # one problem, one line
    assert re.search(expected, str(info.value)), str(info.value)


def test_cli_hyperparameter_as_schedule_table(capsys):
    code = main(
        [
            "optimize",
            "booth",
            "--optimizer",
            "gd",
            "--x0",
            "0,0",
            "--steps",
            "20",
            "--hp",
            'learning_rate={schedule = "exponential_decay", init_value = 0.05, '
            "transition_steps = 1, decay_rate = [0.9, 0.99]}",
            "--json",
        ]
    )
    assert code == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["hyperparameters"]["learning_rate.decay_rate"] == [0.9, 0.99]
    code = main(
        ["optimize", "booth", "--optimizer", "gd", "--x0", "0,0", "--hp", "learning_rate={x"]
    )
    assert code == 2
    assert "--hp learning_rate: not a TOML table" in capsys.readouterr().err


def test_config_hash_sees_the_chain_and_the_schedules():
    """Two configs that differ only in a chain's static argument or a schedule's step count
    have different hashes (a resumed run must not mix their results)."""
    base = parse_config(CONFIG)
    other = parse_config(CONFIG.replace("decay_steps = 30", "decay_steps = 40"))
    nesterov = parse_config(
        CONFIG.replace(
            '{name = "adamw", learning_rate', '{name = "adamw", nesterov = true, learning_rate'
        )
    )
    assert len({base.hash(), other.hash(), nesterov.hash()}) == 3
    assert parse_config(CONFIG).hash() == base.hash()
    assert (
        "definition"
        not in parse_config(CONFIG.split("[[optimizers]]")[0] + ('[[optimizers]]\nname = "adam"\n'))
        .optimizers[0]
        .to_dict()
    )


def test_schedule_range_problem_names_the_chain_entry():
    """In a chain entry (no label), the out-of-range schedule is reported at its own key."""
    text = (
        '[run]\nsteps = 30\n[[objectives]]\nname = "booth"\n[[optimizers]]\nname = "adam"\n'
        '[[optimizers]]\nchain = [{name = "sgd", learning_rate = 0.1}]\n'
        'learning_rate = {schedule = "linear", init_value = 0.1, end_value = -0.1, '
        "transition_steps = 20}\n"
    )
    with pytest.raises(ConfigError, match=r"line 9 +optimizers\[1\]\.learning_rate .*step 11"):
        parse_config(text)
