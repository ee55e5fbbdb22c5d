"""The axes a method is made of, by name, importable without torch (the CLI reads them at start).

A method (:class:`droiz.optim.Method`) is a preset of four axes:

* ``acquisition``: what a BO round maximises (``robust-ucb``, ``ucb``, ``ucb-sum``, ``ei``,
  ``hybrid``; ``none`` for the model-free methods, which propose the Sobol sequence);
* ``group_rule``: which groups a BO-round candidate is evaluated on. It is a setting of the run or
  comparison, the same for every model-based method (``RobustBO(group_selection=...)``,
  ``droiz demo --group-rule``); model-free methods sample by the reference weights;
* ``reference_update``: ``fixed`` or ``ema`` (the reference weights follow the weak groups);
* ``final_pick``: how the evaluated points are ranked (a name in ``droiz.optim.SELECTIONS``).
"""

from __future__ import annotations

AXES = ("acquisition", "group_rule", "reference_update", "final_pick")
"""The keys naming a method's axes in every report (``methods[NAME]`` of the JSON outputs)."""

GROUP_RULE_CHOICES = ("reference", "adversarial")
"""The group rules offered by the command line (``--group-rule``)."""

DEFAULT_GROUP_RULE = "reference"
"""The group rule of every model-based method unless one is chosen (``docs/engine.md`` says why)."""

REFERENCE_UPDATES = ("fixed", "ema")
"""The values of the ``reference_update`` axis."""
