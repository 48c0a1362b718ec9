"""Validating ``[[objectives]]``: registered names or formulas, their bounds, optima and
constraints; each valid entry comes back with its objective built (once, here).

(Over 500 lines: the three kinds of entry, registered names, formulas and models on data,
share their bounds, optima and label checks.)
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import warnings
from types import MappingProxyType
from typing import Any

from jaxcalc.errors import ConfigError, ExpressionError
from jaxcalc.pipeline.config.problems import Path_
from jaxcalc.pipeline.config.reader import Reader, got, is_number, suggest
from jaxcalc.pipeline.config.schema import MAX_STEPS, OBJECTIVE_KEYS, ObjectiveConfig

__all__ = ["check_unique_labels", "read_objectives"]

_RELATION = re.compile(r"<=|>=|==|=|<|>")  # as jaxcalc.constraints reads relations
# relation-like operators the constraint parser does not read, with what to write instead
_NOT_RELATIONS = {"=>": ">=", "=<": "<=", "!=": None, "<>": None}
# the models of jaxcalc.objectives.data (named here so that reading a config does not
# import the objectives; tests/objectives/test_data.py checks that the two agree)
DATA_MODELS = ("least_squares", "logistic_regression", "softmax_regression", "mlp")


def check_unique_labels(r: Reader, labels: list[str], index: list[int], section: str) -> None:
    """A problem for each entry whose label an earlier entry of ``section`` uses."""
    seen: dict[str, int] = {}
    for i, label in zip(index, labels, strict=True):
        if label in seen:
            r.problem(
                (section, i),
                f"label '{label}' is also used by {section}[{seen[label]}]; "
                "give each entry a distinct `label`",
            )
        else:
            seen[label] = i


def read_objectives(
    r: Reader, raw: Any, dtype: str, seed: int = 0
) -> tuple[tuple[ObjectiveConfig, ...], list[int]]:
    """The ``[[objectives]]`` entries (each with its objective resolved), and the position
    in the file of each one returned. An objective from data with a list of batch sizes
    gives one entry per batch size; its held-out split is drawn from ``seed``."""
    path: Path_ = ("objectives",)
    if raw is None:
        r.problem(path, "missing: add at least one [[objectives]] table")
        return (), []
    if isinstance(raw, dict):
        raw = [raw]  # [objectives] written for one
    if not isinstance(raw, list) or not raw:
        r.problem(path, f"must be a list of [[objectives]] tables, got {got(raw)}")
        return (), []
    out = []
    index: list[int] = []  # position in the file of each entry of `out`
    for i, item in enumerate(raw):
        name = item.get("name") if isinstance(item, dict) else None
        if isinstance(name, str) and name.strip() in DATA_MODELS:
            for obj in read_data_objective(r, item, path + (i,), dtype, seed):
                out.append(obj)
                index.append(i)
            continue
        obj = read_objective(r, item, path + (i,), dtype)
        if obj is not None:
            out.append(obj)
            index.append(i)
    # default labels: the name (with _d<dim> when the name repeats), or the expression
    names = [o.name for o in out if o.name is not None]
    fixed = []
    for o in out:
        if o.label == "":
            label = o.name if o.name is not None else o.expression
            if o.name is not None and names.count(o.name) > 1:
                label = f"{o.name}_d{o.dim}"
            o = dataclasses.replace(o, label=label)
        fixed.append(o)
    check_unique_labels(r, [o.label for o in fixed], index, "objectives")
    return tuple(fixed), index


def read_objective(r: Reader, item: Any, path: Path_, dtype: str) -> ObjectiveConfig | None:
    tbl = r.table(item, path, OBJECTIVE_KEYS)
    if tbl is None:
        return None
    n_problems = len(r.problems)
    label = r.label(tbl["label"], path + ("label",)) if "label" in tbl else ""
    has_name, has_expr = "name" in tbl, "expression" in tbl
    if has_name == has_expr:
        r.problem(
            path,
            "give exactly one of `name` (a registered objective) or `expression` "
            f"(a formula); got {'both' if has_name else 'neither'}",
        )
        return None
    if "epochs" in tbl:
        r.problem(
            path + ("epochs",),
            "only for an objective from data (name = one of "
            f"{', '.join(DATA_MODELS)}); give this objective's steps as run.steps",
        )
    if has_expr:
        obj = read_expression_objective(r, tbl, path, dtype, label)
    else:
        obj = read_named_objective(r, tbl, path, label, dtype)
    if obj is None or len(r.problems) > n_problems:
        return None
    return resolve_objective(r, obj, path, dtype)


def resolve_objective(r: Reader, obj: ObjectiveConfig, path: Path_, dtype: str):
    """``obj`` with its :class:`~jaxcalc.objectives.Objective` built (in the config's dtype,
    as the run computes) and its registry family; None after a problem (the registry's own
    checks, e.g. a BBOB instance range, become config problems)."""
    import jax

    from jaxcalc import objectives

    scope = jax.enable_x64(True) if dtype == "float64" else contextlib.nullcontext()
    try:
        with scope:
            built = obj.resolve()
    except Exception as err:  # noqa: BLE001 - any refusal becomes a config problem
        r.problem(path, str(err))
        return None
    if obj.data:
        family = "data"
    else:
        family = str(objectives.spec(obj.name).family) if obj.name is not None else "user"
    return dataclasses.replace(obj, objective=built, family=family)


def _read_data_keys(r: Reader, tbl: dict, path: Path_, name: str, seed: int) -> dict[str, Any]:
    """The keys of an objective from data that build its model and split (dataset,
    activation, initialiser, l2, held-out fraction, sizes of synthetic data, widths)."""
    from jaxcalc.objectives.data import ACTIVATIONS, DATASETS
    from jaxcalc.trees import INITIALIZERS

    data: dict[str, Any] = {"split_seed": seed}
    dataset = tbl.get("dataset")
    if dataset is None:
        r.problem(path, f"{name} needs `dataset`: one of {', '.join(DATASETS)}")
    elif not isinstance(dataset, str) or dataset not in DATASETS:
        hint = suggest(str(dataset), list(DATASETS)) or f" (known: {', '.join(DATASETS)})"
        r.problem(path + ("dataset",), f"unknown dataset {dataset!r}{hint}")
    else:
        data["dataset"] = dataset
    for key, choices in (("activation", ACTIVATIONS), ("init", INITIALIZERS)):
        if key in tbl:
            v = tbl[key]
            if not isinstance(v, str) or v not in choices:
                r.problem(path + (key,), f"must be one of {', '.join(choices)}; got {got(v)}")
            else:
                data[key] = v
    if "l2" in tbl:
        l2 = r.number(tbl, "l2", path, 0.0)
        if l2 is not None and l2 < 0:
            r.problem(path + ("l2",), f"must be >= 0, got {l2:g}")
        elif l2 is not None:
            data["l2"] = l2
    if "heldout" in tbl:
        held = r.number(tbl, "heldout", path, 0.2)
        if held is not None and not 0 < held < 1:
            r.problem(path + ("heldout",), f"must be a fraction between 0 and 1, got {held:g}")
        elif held is not None:
            data["heldout"] = held
    for key in ("rows", "features", "classes", "data_seed"):
        if key in tbl:
            value = r.integer(tbl, key, path, None, 0 if key == "data_seed" else 1, 2**31 - 1)
            if value is not None:
                data[key] = value
    if "hidden" in tbl:
        hidden = tbl["hidden"]
        hidden = [hidden] if isinstance(hidden, int) and not isinstance(hidden, bool) else hidden
        ok = isinstance(hidden, list) and all(
            isinstance(h, int) and not isinstance(h, bool) and h >= 1 for h in hidden
        )
        if not ok:
            r.problem(path + ("hidden",), f"must be a list of widths >= 1, got {got(hidden)}")
        else:
            data["hidden"] = tuple(hidden)
    return data


def _read_batch_sizes(r: Reader, tbl: dict, path: Path_) -> list[int | None] | None:
    """``batch_size``: one size or a list (a sweep); ``[None]`` for the full batch, None
    after a problem."""
    sizes: list[int | None] = [None]
    if "batch_size" in tbl:
        v = tbl["batch_size"]
        values = v if isinstance(v, list) else [v]
        if not values or not all(
            isinstance(b, int) and not isinstance(b, bool) and b >= 1 for b in values
        ):
            r.problem(
                path + ("batch_size",),
                f"must be a whole number >= 1 or a list of them (a sweep); got {got(v)}",
            )
            return None
        sizes = list(values)
    return sizes


def read_data_objective(
    r: Reader, item: Any, path: Path_, dtype: str, seed: int
) -> list[ObjectiveConfig]:
    """An objective from data (``name`` a model of :data:`jaxcalc.objectives.data.MODELS`),
    one entry per batch size (``batch_size`` may be a list: a sweep); [] after a problem."""
    tbl = r.table(item, path, OBJECTIVE_KEYS)
    if tbl is None:
        return []
    n_problems = len(r.problems)
    name = tbl["name"].strip()
    for key in ("expression", "dim", "params", "bounds", "x_opt", "f_opt", "variables",
                "constraints"):  # fmt: skip
        if key in tbl:
            r.problem(path + (key,), f"not a key of an objective from data ({name})")
    label = r.label(tbl["label"], path + ("label",)) if "label" in tbl else ""
    data = _read_data_keys(r, tbl, path, name, seed)
    epochs = r.integer(tbl, "epochs", path, None, 1, MAX_STEPS) if "epochs" in tbl else None
    sizes = _read_batch_sizes(r, tbl, path)
    if sizes is None:
        return []
    if len(r.problems) > n_problems:
        return []
    base = label or f"{name}_{data['dataset']}"
    out = []
    for size in sizes:
        entry = {**data, **({"batch_size": size} if size is not None else {})}
        obj = ObjectiveConfig(
            label=base if len(sizes) == 1 else f"{base}_b{size}",
            name=name,
            data=MappingProxyType(entry),
            epochs=epochs,
        )
        resolved_obj = resolve_objective(r, obj, path, dtype)
        if resolved_obj is None:
            return []
        resolved_obj = dataclasses.replace(resolved_obj, dim=resolved_obj.objective.dim)
        if epochs is not None and resolved_obj.fixed_steps() > MAX_STEPS:
            r.problem(
                path + ("epochs",),
                f"{epochs} epochs are {resolved_obj.fixed_steps()} steps of "
                f"'{resolved_obj.label}'; the limit is {MAX_STEPS} steps",
            )
            return []
        out.append(resolved_obj)
    return out


def read_bounds(r: Reader, tbl: dict, path: Path_, dim: int | None) -> Any:
    if "bounds" not in tbl:
        return None
    v = tbl["bounds"]
    p = path + ("bounds",)
    if isinstance(v, list) and len(v) == 2 and all(is_number(x) for x in v) and dim:
        v = [v] * dim  # one [low, high] pair for every coordinate
    if not isinstance(v, list) or not all(isinstance(b, list) for b in v) or not v:
        r.problem(p, f"must be a list of [low, high] pairs, got {got(v)}")
        return None
    out = []
    for i, pair in enumerate(v):
        if len(pair) != 2:
            r.problem(p + (i,), f"must be a pair [low, high], got {len(pair)} values")
            return None
        lo = r.float_value(pair[0], p + (i, 0))
        hi = r.float_value(pair[1], p + (i, 1))
        if lo is None or hi is None:
            return None
        if not lo < hi:
            r.problem(p + (i,), f"low must be < high (got [{lo:g}, {hi:g}])")
            return None
        out.append((lo, hi))
    if dim is not None and len(out) != dim:
        r.problem(p, f"must have {dim} pairs (one per variable), got {len(out)}")
        return None
    return tuple(out)


def read_expression_objective(
    r: Reader, tbl: dict, path: Path_, dtype: str, label: str
) -> ObjectiveConfig | None:
    from jaxcalc.errors import ExpressionError
    from jaxcalc.expressions import parse

    for key in ("params",):
        if key in tbl:
            r.problem(path + (key,), "expression objectives take no parameters")
    text = tbl["expression"]
    p = path + ("expression",)
    if not isinstance(text, str):
        r.problem(p, f'must be a quoted string, e.g. expression = "3*x**2 + 1"; got {got(text)}')
        return None
    variables = None
    if "variables" in tbl:
        vs = tbl["variables"]
        if isinstance(vs, str):
            vs = [vs]
        if not isinstance(vs, list) or not all(isinstance(x, str) for x in vs):
            r.problem(path + ("variables",), f"must be a list of names, got {got(vs)}")
            return None
        variables = vs
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expr = parse(text, variables, dtype=dtype)
    except ExpressionError as err:
        col = f" (column {err.column})" if err.column else ""
        r.problem(p, f"{err.reason}{col}")
        return None
    dim = expr.dim
    if "dim" in tbl:
        given = r.integer(tbl, "dim", path, None, 1, 10**6)
        if given is not None and given != dim:
            r.problem(
                path + ("dim",),
                f"is {given}, but `{expr.text}` has {dim} variable{'s' if dim > 1 else ''} "
                f"({', '.join(expr.variables)})",
            )
    bounds = read_bounds(r, tbl, path, dim)
    x_opt = None
    if "x_opt" in tbl:
        v = tbl["x_opt"]
        if is_number(v) and dim == 1:
            v = [v]
        if not isinstance(v, list):
            r.problem(path + ("x_opt",), f"must be a list of {dim} numbers, got {got(v)}")
        elif len(v) != dim:
            r.problem(
                path + ("x_opt",),
                f"must have {dim} values ({', '.join(expr.variables)}), got {len(v)}",
            )
        else:
            vals = [r.float_value(x, path + ("x_opt", j)) for j, x in enumerate(v)]
            if all(x is not None for x in vals):
                x_opt = tuple(vals)
    f_opt = r.number(tbl, "f_opt", path, None)
    constraints = read_constraints(r, tbl, path, tuple(expr.variables), dtype)
    return ObjectiveConfig(
        label=label,
        expression=expr.text,
        dim=dim,
        bounds=bounds,
        x_opt=x_opt,
        f_opt=f_opt,
        variables=tuple(expr.variables),
        constraints=constraints or (),
    )


def read_named_objective(
    r: Reader, tbl: dict, path: Path_, label: str, dtype: str
) -> ObjectiveConfig | None:
    from jaxcalc import objectives
    from jaxcalc.constraints import default_variables

    for key in ("x_opt", "f_opt", "variables"):
        if key in tbl:
            r.problem(
                path + (key,),
                f"only for expressions; a registered objective knows its own {key}",
            )
    name = tbl["name"]
    p = path + ("name",)
    if not isinstance(name, str):
        r.problem(p, f"must be a string, got {got(name)}")
        return None
    if not re.fullmatch(r"[A-Za-z_]\w*", name.strip()):
        if ":" in name and re.fullmatch(r"[\w.]+:\w+", name.strip()):
            r.problem(p, "Python code cannot be loaded from a config; use `expression`")
        else:
            r.problem(p, f"'{name}' is not an objective name; for a formula write "
                         f'expression = "{name}"')  # fmt: skip
        return None
    try:
        spec = objectives.spec(name.strip())
    except Exception as err:  # noqa: BLE001 - ObjectiveError with close matches
        msg = str(err).replace("`", "'")
        r.problem(p, f"{msg} (list them with `jaxcalc list objectives`)")
        return None
    dim = r.integer(tbl, "dim", path, spec.default_dim, 1, 10**6)
    if dim is not None:
        if spec.dims is not None and dim not in spec.dims:
            allowed = ", ".join(map(str, spec.dims))
            r.problem(path + ("dim",), f"{spec.name} is defined for dim {allowed} (got {dim})")
            dim = None
        elif spec.dims is None and dim < spec.min_dim:
            r.problem(path + ("dim",), f"{spec.name} needs dim >= {spec.min_dim} (got {dim})")
            dim = None
    params: dict[str, Any] = {}
    if "params" in tbl:
        raw = tbl["params"]
        pp = path + ("params",)
        if not isinstance(raw, dict):
            r.problem(pp, f"must be a table, e.g. params = {{ instance = 2 }}; got {got(raw)}")
        else:
            for key in raw:
                if key not in spec.params:
                    known = ", ".join(sorted(spec.params)) or "none"
                    hint = suggest(key, sorted(spec.params)) or f" ({spec.name} takes: {known})"
                    r.problem(pp + (key,), f"unknown parameter of {spec.name}{hint}")
                    continue
                default = spec.params[key]
                if isinstance(default, bool):
                    val = r.boolean(raw, key, pp, default)
                elif isinstance(default, int):
                    val = r.integer(raw, key, pp, default, -(2**63), 2**63 - 1)
                else:
                    val = r.number(raw, key, pp, default)
                if val is not None:
                    params[key] = val
    if dim is None:
        return None
    bounds = read_bounds(r, tbl, path, dim)
    # a registered objective's coordinates are x, y, z (x1..xn above 3-D), as
    # objectives.constrained reads them (constraints.default_variables)
    constraints = read_constraints(r, tbl, path, default_variables(dim), dtype)
    return ObjectiveConfig(
        label=label,
        name=spec.name,
        dim=dim,
        params=MappingProxyType(params),
        bounds=bounds,
        constraints=constraints or (),
    )


def read_constraints(
    r: Reader, tbl: dict, path: Path_, variables: tuple[str, ...], dtype: str
) -> tuple[str, ...] | None:
    """The ``constraints`` key: relation strings, each parsed by
    :func:`jaxcalc.constraints.parse_constraint` in ``variables`` (literals checked in
    ``dtype``). Returns the stripped texts, () without the key, None after a problem."""
    if "constraints" not in tbl:
        return ()
    v = tbl["constraints"]
    p = path + ("constraints",)
    if isinstance(v, str):
        v = [v]  # one relation
    if not isinstance(v, list):
        r.problem(p, f'must be a list of relations, e.g. ["x + y = 1", "x >= 0"]; got {got(v)}')
        return None
    texts = [read_constraint(r, text, p + (j,), variables, dtype) for j, text in enumerate(v)]
    if any(t is None for t in texts):
        return None
    return tuple(texts)


def read_constraint(
    r: Reader, text: Any, p: Path_, variables: tuple[str, ...], dtype: str
) -> str | None:
    import jax

    from jaxcalc.constraints import parse_constraint
    from jaxcalc.expressions import ExpressionWarning

    if not isinstance(text, str):
        r.problem(p, f'must be a relation string such as "x + y = 1", got {got(text)}')
        return None
    if not text.strip():
        r.problem(p, 'must not be empty; write a relation such as "x + y = 1"')
        return None
    wrong = re.search("|".join(map(re.escape, _NOT_RELATIONS)), text)
    if wrong:
        op = wrong.group()
        fix = _NOT_RELATIONS[op]
        hint = f"write `{fix}`" if fix else "write `=`, `<=` or `>=`"
        r.problem(p, f"`{op}` is not a relation: {hint}")
        return None
    try:  # literals are checked in the config's dtype, as for the expression
        with warnings.catch_warnings(record=True) as caught, jax.enable_x64(dtype == "float64"):
            warnings.simplefilter("always", ExpressionWarning)
            parse_constraint(text, variables)
    except ConfigError as err:
        r.problem(p, _constraint_reason(err, text))
        return None
    constant = [w for w in caught if issubclass(w.category, ExpressionWarning)]
    if any("does not depend" in str(w.message) for w in constant):
        shown = ", ".join(variables)
        r.problem(p, f"`{text.strip()}` uses none of the variables ({shown}): always true or never")
        return None
    return text.strip()


# -- optimizers ----------------------------------------------------------------------


def _constraint_reason(err: ConfigError, text: str) -> str:
    """The parser's reason for refusing the relation ``text``, with the column in ``text``.

    :func:`~jaxcalc.constraints.parse_constraint` parses ``(lhs) - (rhs)``; an expression
    error there (kept as the ConfigError's context) gives a reason and a column in that
    text, mapped back here. Anything else is the parser's own message."""
    inner = err.__context__
    if not isinstance(inner, ExpressionError):
        return str(err)
    reason = inner.reason
    if inner.column is None:
        return reason
    m = _RELATION.search(text)
    if m is None:
        return reason
    left, right = text[: m.start()], text[m.end() :]
    sides = [  # (side as parsed, its offset in text)
        (left.strip(), len(left) - len(left.lstrip())),
        (right.strip(), m.end() + len(right) - len(right.lstrip())),
    ]
    if m.group() == ">=":  # read as (rhs) - (lhs) <= 0
        sides.reverse()
    (first, first_at), (second, second_at) = sides
    if inner.text == f"({first}) - ({second})":
        col = inner.column - 1  # 0-based in the parsed text
        if 1 <= col < 1 + len(first):
            return f"{reason} (column {col + first_at})"
        start = len(first) + 6
        if start <= col < start + len(second):
            return f"{reason} (column {col - start + second_at + 1})"
    return reason
