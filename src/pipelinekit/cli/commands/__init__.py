"""The commands of ``pipelinekit``, one module each; they wire library calls to options and output.

``demo``, ``import`` (:mod:`.import_`), ``qualify``, ``report``, ``export``,
``dedupe [undo]`` and ``pipeline validate|show|diagram`` (:mod:`.pipeline`).  The work itself is
done by the library (:mod:`pipelinekit.io`, :mod:`pipelinekit.analytics`,
:mod:`pipelinekit.qualification`, :mod:`pipelinekit.pipelines`); printing is
:mod:`pipelinekit.cli._printing`.  Not an API: use the library.
"""
