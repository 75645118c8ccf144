"""The published benchmarks: Fuente's parts measured on public data sets, written to ``docs/benchmarks.md``.

``retrieval`` (XQuAD, SQuAD-es), ``detectors`` (RAGTruth-QA, RAGChecker agreement), ``abstention``
(SQuAD-es v2 unanswerables with the real assistant) and ``markdown`` (the page). Run them with
``python -m eval.published PART`` (``__main__.py``). Speed is measured elsewhere, in ``bench/``.
"""
