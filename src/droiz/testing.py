"""Helpers for your own tests: run the engine's conformance suite on a method you registered.

    from droiz.testing import check_method

    def test_my_method_keeps_the_contract():
        import my_methods  # registers "mine" with @droiz.optim.register_method

        check_method("mine")

See :mod:`droiz.optim.conformance` for the individual checks.
"""

from __future__ import annotations

from droiz.optim.conformance import (
    CHECKS,
    ambiguity_sets,
    check_budget,
    check_dtypes,
    check_group_counts,
    check_kl0_is_nominal,
    check_method,
    check_proposals,
    check_state_round_trip,
    make_engine,
)

__all__ = [
    "CHECKS",
    "ambiguity_sets",
    "check_budget",
    "check_dtypes",
    "check_group_counts",
    "check_kl0_is_nominal",
    "check_method",
    "check_proposals",
    "check_state_round_trip",
    "make_engine",
]
