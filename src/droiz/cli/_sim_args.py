"""The flags that ``droiz demo`` and ``droiz bench sim`` share, declared once for both parsers."""

from __future__ import annotations

import argparse

from droiz.axes import DEFAULT_GROUP_RULE, GROUP_RULE_CHOICES
from droiz.cli._errors import bounded_int
from droiz.cli._outputs import add_outputs
from droiz.runner.settings.checks import LARGE_BUDGET
from droiz.validate import MAX_SEEDS, MAX_WORKERS

SIM_AMBIGUITY = "kl:1.0"
SCENARIOS = ("tradeoff", "neutral")
MIN_SIM_BUDGET = 30
"""25 Sobol points and a round."""
SEEDS = bounded_int(1, MAX_SEEDS, " (seeds 0..N-1)")
WORKERS = bounded_int(1, MAX_WORKERS, " (processes; no more are started than there are runs)")


def add_sim_args(p: argparse.ArgumentParser, *, seeds: int) -> None:
    """Add ``--seeds`` (default ``seeds``), ``--scenario``, ``--budget``, ``--ambiguity``,
    ``--group-rule``, ``--workers``, ``--json`` and ``--out`` to ``p``."""
    p.add_argument(
        "--seeds", type=SEEDS, default=seeds, help=f"number of seeds, 0..N-1 (default {seeds})"
    )
    p.add_argument(
        "--scenario", choices=SCENARIOS, default="tradeoff", help="tradeoff (default) or neutral"
    )
    p.add_argument(
        "--budget",
        type=bounded_int(MIN_SIM_BUDGET, LARGE_BUDGET, " (25 Sobol points and a round at least)"),
        default=150,
        help="evaluations per run (default 150)",
    )
    p.add_argument(
        "--ambiguity",
        default=SIM_AMBIGUITY,
        help=f"ambiguity set of the robust methods (default {SIM_AMBIGUITY})",
    )
    p.add_argument(
        "--group-rule",
        choices=GROUP_RULE_CHOICES,
        default=None,
        help=f"which groups a BO evaluation observes, the same for every model-based method: "
        f"reference (sampled by the reference weights) or adversarial (the lowest lower "
        f"confidence bounds); default {DEFAULT_GROUP_RULE}",
    )
    p.add_argument(
        "--workers",
        type=WORKERS,
        default=None,
        help="parallel processes (default: 2, or 1 on a single core)",
    )
    add_outputs(p)
