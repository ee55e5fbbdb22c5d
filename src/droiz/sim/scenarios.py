"""Parameters of the simulated prompt environment's two scenarios.

Every instruction ``i`` of the pool has an ability ``b_i`` (a smooth function of its position in
the instruction space plus noise, standardised) and is either *robust* or *fragile*; the robust
ones form a spatially clustered minority (``robust_share``). Success probabilities are logistic::

    fragile, clean group:         logit p = base + slope * b_i + fragile_bonus
    fragile, its weak group:      logit p = base + slope * b_i + fragile_bonus - weak_drop
    fragile, other shift groups:  logit p = base + slope * b_i + fragile_bonus - shift_drop
    robust, every group:          logit p = base + slope * b_i + robust_bonus

Each fragile instruction has one weak shift group (which one varies smoothly over the space).

* ``tradeoff``: fragile instructions are better on the clean group and on average, but collapse
  on their weak group; robust instructions cost a few points of mean accuracy.
* ``neutral``: fragile instructions have no advantage anywhere, so the best instruction on average
  is also the most robust one; robustness should then cost (almost) nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from droiz.exceptions import ConfigError
from droiz.registry import unknown_name_message


@dataclass(frozen=True)
class Scenario:
    """The parameters of one simulated scenario (see the module docstring)."""

    name: str
    n_groups: int = 4
    pool_size: int = 400
    space_dim: int = 2
    frequency: float = 0.5
    sharpness: float = 5.0
    robust_share: float = 0.2
    base: float = 1.0
    slope: float = 0.3
    fragile_bonus: float = 1.2
    robust_bonus: float = 0.0
    weak_drop: float = 2.5
    shift_drop: float = 0.1
    ability_noise: float = 0.2
    n_dev: int = 20
    n_test: int = 300


SCENARIOS: dict[str, Scenario] = {
    "tradeoff": Scenario("tradeoff"),
    "neutral": Scenario("neutral", fragile_bonus=-0.3, robust_bonus=0.5, weak_drop=1.0),
}


def get_scenario(name: str) -> Scenario:
    """The scenario called ``name`` (``tradeoff`` or ``neutral``)."""
    try:
        return SCENARIOS[name]
    except KeyError:
        raise ConfigError(unknown_name_message("scenario", name, SCENARIOS)) from None
