"""droiz inside other frameworks.

* :mod:`droiz.integrations.dspy`: ``RobustInstructionOptimizer``, a DSPy optimizer
  (``pip install 'droiz[dspy]'``).

Each integration imports its framework only when it is imported itself.
"""
