"""A results folder in the field's formats: COCO's (for ``cocopp``) and IOHprofiler's (for
``iohinspector`` and IOHanalyzer). See ``docs/exports.md``.

:func:`export_coco` and :func:`export_ioh` read only the result files, write a new folder
whole or not at all, and return an :class:`ExportSummary`.
"""

from jaxcalc.exports.coco import export_coco
from jaxcalc.exports.ioh import export_ioh
from jaxcalc.exports.runs import ExportRun, ExportSource, read_source
from jaxcalc.exports.summary import ExportSummary

__all__ = ["ExportRun", "ExportSource", "ExportSummary", "export_coco", "export_ioh", "read_source"]
