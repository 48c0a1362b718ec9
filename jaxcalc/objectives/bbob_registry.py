"""COCO's BBOB functions in the registry: ``bbob_f1`` .. ``bbob_f24``.

``get("bbob_f3", dim=10, instance=2)`` is COCO's problem ``bbob_f003_i02_d10``; the default
is dimension 2, instance 1. The functions themselves live in :mod:`jaxcalc.objectives.bbob`.
"""

from __future__ import annotations

import numpy as np

from jaxcalc.objectives.base import Objective, ObjectiveError
from jaxcalc.objectives.bbob import BBOB_DIMENSIONS, BBOB_NAMES, bbob
from jaxcalc.objectives.registry import ObjectiveSpec

__all__ = ["SPECS"]

_CITATION = (
    "Hansen, Finck, Ros & Auger, Real-parameter black-box optimization benchmarking 2009: "
    "noiseless functions definitions (INRIA RR-6829), f{fid} {name}; values as COCO's bbob "
    "suite (cocoex)"
)


def _factory(function_id: int):
    def build(dim: int, instance: int = 1) -> Objective:
        try:
            problem = bbob(function_id, dim, instance)
        except ObjectiveError as err:
            raise ObjectiveError(f"bbob_f{function_id}: {err}") from None
        return Objective(
            name=f"bbob_f{function_id}",
            dim=dim,
            fn=problem.fn,
            bounds=np.tile([problem.lower_bound, problem.upper_bound], (dim, 1)),
            x_opt=np.array(problem.x_opt),
            f_opt=problem.f_opt,
            citation=_CITATION.format(fid=function_id, name=BBOB_NAMES[function_id]),
            differentiable=problem.differentiable,
            batched=True,
            params={"instance": int(instance)},
            description=f"{problem.name}, instance {instance}, dimension {dim}",
        )

    return build


SPECS = [
    ObjectiveSpec(
        name=f"bbob_f{fid}",
        factory=_factory(fid),
        default_dim=2,
        dims=BBOB_DIMENSIONS,
        family="bbob",
        params={"instance": 1},
    )
    for fid in sorted(BBOB_NAMES)
]
