"""Temporary: the engine's names at their old address, :mod:`jaxcalc.engine`'s modules.

Setting one of these names here (as tests do with ``monkeypatch.setattr``) sets it in its
module too, so the engine sees the change. To be removed once every import names
``jaxcalc.engine``.
"""

import sys
import types

from jaxcalc.engine import cache, curvature, options, plan, program, result, run

# old name -> (module, name there)
_MOVED = {
    "STATUSES": (result, "STATUSES"),
    "Trajectory": (result, "Trajectory"),
    "_CODE": (result, "CODE"),
    "enable_compilation_cache": (cache, "enable_compilation_cache"),
    "_COMPILED": (cache, "COMPILED"),
    "_COMPILED_KEEP": (cache, "COMPILED_KEEP"),
    "_compile": (cache, "compile_program"),
    "estimate_bytes": (plan, "estimate_bytes"),
    "_PARALLEL_MIN_RUN_STEPS": (plan, "PARALLEL_MIN_RUN_STEPS"),
    "_Limits": (options, "Limits"),
    "_program": (program, "Program"),
    "_lowest_eigenpair": (curvature, "lowest_eigenpair"),
    "_curvature_check": (curvature, "curvature_check"),
    "_curvature_program": (curvature, "curvature_program"),
    "optimize": (run, "optimize"),
    "optimize_many": (run, "optimize_many"),
    "precompile": (run, "precompile"),
    "precompile_many": (run, "precompile_many"),
}


# bound here too, so that code reading or patching this module finds them as its own
globals().update({old: getattr(module, new) for old, (module, new) in _MOVED.items()})


class _Forwarding(types.ModuleType):
    def __setattr__(self, name: str, value) -> None:
        if name in _MOVED:
            module, attribute = _MOVED[name]
            setattr(module, attribute, value)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Forwarding
