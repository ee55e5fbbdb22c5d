"""Ambiguity sets and their batched worst-case solvers.

``V(u) = min_{w in U(ref)} <u, w>`` for utilities ``u`` (``batch x K``, higher is better) and a
reference distribution ``ref`` (``K``)::

    from droiz.ambiguity import KLBall
    worst = KLBall(0.1).worst_case(u, ref)  # WorstCase(value: batch, weights: batch x K)

Every solver is exact or converges to machine precision, runs in float64 without a Python loop
over the batch, and returns ``value`` whose gradient with respect to ``u`` is ``weights``.
"""

from __future__ import annotations

from droiz.ambiguity.base import AMBIGUITY_SETS, AmbiguitySet, WorstCase
from droiz.ambiguity.chi2 import Chi2Ball
from droiz.ambiguity.cvar import CVaR
from droiz.ambiguity.kl import KLBall
from droiz.ambiguity.nominal import Nominal
from droiz.ambiguity.parse import ambiguity_from_config, ambiguity_to_config, parse_ambiguity
from droiz.ambiguity.tv import TVBall
from droiz.ambiguity.wasserstein import WassersteinBall

__all__ = [
    "AMBIGUITY_SETS",
    "AmbiguitySet",
    "CVaR",
    "Chi2Ball",
    "KLBall",
    "Nominal",
    "TVBall",
    "WassersteinBall",
    "WorstCase",
    "ambiguity_from_config",
    "ambiguity_to_config",
    "parse_ambiguity",
]
