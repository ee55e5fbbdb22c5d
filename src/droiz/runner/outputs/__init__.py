"""Stage 5 of a run: what comes out of it. The round summaries (:mod:`.summary`),
``best.json`` (:mod:`.best`), :class:`~droiz.runner.outputs.result.OptimizeResult`
(:mod:`.result`), ``report.md`` (:mod:`.report`), the plot (:mod:`.plot`) and :func:`replay`
(:mod:`.replay`).
"""
