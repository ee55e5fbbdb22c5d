"""The public interface: batch shapes, dtypes, autograd, duals, errors, specs and the registry."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
import torch

from droiz.ambiguity import (
    AMBIGUITY_SETS,
    AmbiguitySet,
    Chi2Ball,
    CVaR,
    KLBall,
    Nominal,
    TVBall,
    WassersteinBall,
    WorstCase,
    parse_ambiguity,
)
from droiz.exceptions import AmbiguitySetError, UnknownNameError

K = 4
REF = torch.tensor([0.1, 0.2, 0.3, 0.4], dtype=torch.float64)
COST = torch.tensor(np.abs(np.arange(K)[:, None] - np.arange(K)[None]), dtype=torch.float64)
SETS = [
    KLBall(0.2),
    Chi2Ball(0.2),
    TVBall(0.2),
    CVaR(0.4),
    WassersteinBall(0.2),
    WassersteinBall(0.5, COST),
    Nominal(),
]
DUAL_SETS = SETS[:-1]


def utilities(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.tensor(np.random.default_rng(seed).normal(size=(*shape, K)))


# ----------------------------------------------------------------------------- shapes
@pytest.mark.parametrize("aset", SETS, ids=repr)
@pytest.mark.parametrize("batch", [(), (5,), (2, 3), (0,)], ids=str)
def test_batch_shapes(aset: AmbiguitySet, batch: tuple[int, ...]) -> None:
    u = utilities(*batch)
    worst = aset.worst_case(u, REF)
    assert isinstance(worst, WorstCase)
    assert worst.value.shape == batch and worst.weights.shape == (*batch, K)
    assert worst.value.dtype == worst.weights.dtype == torch.float64


@pytest.mark.parametrize("aset", SETS, ids=repr)
def test_batched_call_equals_row_by_row(aset: AmbiguitySet) -> None:
    u = utilities(2, 3, seed=1)
    batched = aset.worst_case(u, REF)
    for i in range(2):
        for j in range(3):
            row = aset.worst_case(u[i, j], REF)
            assert torch.allclose(batched.value[i, j], row.value, rtol=0, atol=1e-13)
            assert torch.allclose(batched.weights[i, j], row.weights, rtol=0, atol=1e-13)


@pytest.mark.parametrize("aset", DUAL_SETS, ids=repr)
def test_dual_has_batch_shape_and_broadcasts(aset: AmbiguitySet) -> None:
    u = utilities(2, 3, seed=2)
    worst, dual = aset.worst_case_with_dual(u, REF)
    assert dual.shape == (2, 3)
    assert torch.allclose(aset.dual_value(u, REF, dual), worst.value, rtol=0, atol=1e-10)
    assert aset.dual_value(u, REF, 0.5).shape == (2, 3)  # a float broadcasts over the batch


def test_large_w1_batch_is_chunked_and_exact() -> None:
    """More rows than one chunk of N x K x K scores: same answers as small calls."""
    k = 64
    rng = np.random.default_rng(3)
    x = rng.normal(size=(k, 2))
    ball = WassersteinBall(0.3, np.linalg.norm(x[:, None] - x[None], axis=-1))
    u, q = torch.tensor(rng.normal(size=(1100, k))), torch.full((k,), 1.0 / k, dtype=torch.float64)
    big = ball.worst_case(u, q).value
    assert torch.allclose(big[[0, 700, 1099]], ball.worst_case(u[[0, 700, 1099]], q).value)


# ----------------------------------------------------------------------------- dtypes, autograd
@pytest.mark.parametrize("aset", SETS, ids=repr)
def test_float32_and_array_inputs_are_promoted(aset: AmbiguitySet) -> None:
    u64 = utilities(3, seed=4)
    expected = aset.worst_case(u64, REF).value
    for u, ref in [
        (u64.float(), REF.float()),
        (u64.numpy(), REF.numpy()),
        (u64.tolist(), REF.tolist()),
    ]:
        worst = aset.worst_case(u, ref)
        assert worst.value.dtype == torch.float64
        assert torch.allclose(worst.value, expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize("aset", SETS, ids=repr)
def test_gradient_reaches_float32_parameters(aset: AmbiguitySet) -> None:
    """u = mean + beta sigma from float32 leaves (as from a GP posterior): dV/du = weights."""
    mean = utilities(5, seed=5).float().requires_grad_(True)
    sigma = torch.rand(5, K, generator=torch.Generator().manual_seed(0)).requires_grad_(True)
    worst = aset.worst_case(mean + 2.0 * sigma, REF)
    worst.value.sum().backward()
    assert not worst.weights.requires_grad
    assert mean.grad is not None and mean.grad.dtype == torch.float32
    assert torch.allclose(mean.grad, worst.weights.float(), atol=1e-6)
    assert torch.allclose(sigma.grad, 2.0 * worst.weights.float(), atol=1e-6)


def test_value_does_not_require_grad_without_grad_input() -> None:
    assert not KLBall(0.1).worst_case(utilities(3), REF).value.requires_grad


def test_integer_utilities_and_reference_renormalisation() -> None:
    ref = REF * (1 + 5e-7)  # within the 1e-6 tolerance: renormalised
    worst = KLBall(0.1).worst_case(torch.tensor([3, 1, 2, 5]), ref)
    assert worst.value.dtype == torch.float64
    assert abs(float(worst.weights.sum()) - 1.0) <= 1e-15
    assert torch.equal(ref, REF * (1 + 5e-7))  # the caller's tensor is untouched


# ----------------------------------------------------------------------------- bad inputs
@pytest.mark.parametrize(
    ("build", "fragment"),
    [
        (lambda: KLBall(-0.1), "must be a finite number >= 0, got -0.1"),
        (lambda: Chi2Ball(math.nan), "got nan"),
        (lambda: TVBall(math.inf), "got inf"),
        (lambda: KLBall("abc"), "must be a number"),  # type: ignore[arg-type]
        (lambda: KLBall(True), "must be a number"),  # type: ignore[arg-type]
        (lambda: CVaR(0.0), "alpha must be in (0, 1]"),
        (lambda: CVaR(1.5), "got 1.5"),
        (lambda: CVaR(math.nan), "alpha must be in (0, 1]"),
        (lambda: WassersteinBall(0.1, [[0.0, 1.0]]), "square K x K matrix, got shape (1, 2)"),
        (lambda: WassersteinBall(0.1, [[0.0, -1.0], [1.0, 0.0]]), "non-negative"),
        (lambda: WassersteinBall(0.1, [[0.0, math.nan], [1.0, 0.0]]), "finite"),
        (lambda: WassersteinBall(0.1, [[1.0, 1.0], [1.0, 0.0]]), "zero diagonal"),
        (lambda: WassersteinBall(0.1, "euclidean"), "'discrete'"),
        (lambda: WassersteinBall(-1.0), ">= 0"),
    ],
)
def test_bad_sets_raise_clear_errors(build: object, fragment: str) -> None:
    with pytest.raises(AmbiguitySetError, match=None) as info:
        build()  # type: ignore[operator]
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)
    assert isinstance(info.value, ValueError)


U4 = torch.zeros(K, dtype=torch.float64)


@pytest.mark.parametrize(
    ("u", "ref", "fragment"),
    [
        (U4, torch.tensor([0.5, 0.5, 0.5, -0.5]), "non-negative"),
        (U4, torch.tensor([0.1, 0.2, 0.3, 0.3]), "must sum to 1"),
        (U4, torch.tensor([0.5, 0.5]), "vector of K=4 weights"),
        (U4, REF.reshape(2, 2), "got shape (2, 2)"),
        (U4, torch.tensor([0.1, 0.2, math.nan, 0.7]), "finite"),
        (torch.tensor([0.0, math.nan, 1.0, 2.0]), REF, "NaN or inf"),
        (torch.tensor([[0.0, 1.0, 2.0, math.inf]]), REF, "NaN or inf"),
        (torch.tensor(1.0), REF, "K >= 1"),
        (torch.zeros(3, 0), torch.zeros(0), "K >= 1"),
        (torch.zeros(K, dtype=torch.complex128), REF, "real numbers"),
    ],
)
@pytest.mark.parametrize("aset", SETS, ids=repr)
def test_bad_inputs_raise_clear_errors(
    aset: AmbiguitySet, u: torch.Tensor, ref: torch.Tensor, fragment: str
) -> None:
    with pytest.raises(AmbiguitySetError) as info:
        aset.worst_case(u, ref)
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_cost_matrix_must_match_k() -> None:
    with pytest.raises(AmbiguitySetError, match="cost is 4x4 but u has K=3 groups"):
        WassersteinBall(0.1, COST).worst_case(torch.zeros(3), torch.full((3,), 1 / 3))


@pytest.mark.parametrize("aset", DUAL_SETS, ids=repr)
def test_dual_value_rejects_infeasible_duals(aset: AmbiguitySet) -> None:
    bad = math.nan if isinstance(aset, Chi2Ball | CVaR) else -1.0
    with pytest.raises(AmbiguitySetError, match="dual variable must be"):
        aset.dual_value(U4, REF, bad)


def test_nominal_has_no_dual() -> None:
    with pytest.raises(NotImplementedError, match="Nominal has no dual"):
        Nominal().worst_case_with_dual(U4, REF)


# ----------------------------------------------------------------------------- specs, registry
@pytest.mark.parametrize(
    ("spec", "expected", "text"),
    [
        ("kl:0.1", KLBall(0.1), "KLBall(eps=0.1)"),
        ("chi2:0.5", Chi2Ball(0.5), "Chi2Ball(eps=0.5)"),
        ("tv:0.2", TVBall(0.2), "TVBall(delta=0.2)"),
        ("cvar:0.3", CVaR(0.3), "CVaR(alpha=0.3)"),
        ("w1:0.4", WassersteinBall(0.4), "WassersteinBall(eps=0.4, cost='discrete')"),
        ("nominal", Nominal(), "Nominal()"),
        (" KL : 1e-05 ", KLBall(1e-5), "KLBall(eps=1e-05)"),
    ],
)
def test_parse_repr_and_round_trip(spec: str, expected: AmbiguitySet, text: str) -> None:
    aset = parse_ambiguity(spec)
    assert aset == expected and hash(aset) == hash(expected)
    assert repr(aset) == text
    assert parse_ambiguity(aset.to_spec()) == aset


def test_to_spec_strings() -> None:
    assert KLBall(0.1).to_spec() == "kl:0.1" and Nominal().to_spec() == "nominal"
    assert CVaR(0.25).radius == 0.25 and TVBall(0.3).radius == 0.3 and Nominal().radius == 0.0
    assert KLBall(0.1) != Chi2Ball(0.1) and WassersteinBall(0.1, COST) != WassersteinBall(0.1)
    assert repr(WassersteinBall(0.1, COST)) == "WassersteinBall(eps=0.1, cost=<4x4 matrix>)"
    with pytest.raises(AmbiguitySetError, match="has no spec string"):
        WassersteinBall(0.1, COST).to_spec()


@pytest.mark.parametrize(
    ("spec", "error", "fragment"),
    [
        ("kll:0.1", UnknownNameError, "did you mean 'kl'?"),
        ("wasserstein:0.1", UnknownNameError, "expected one of: chi2, cvar, kl, nominal, tv, w1"),
        ("kl:abc", AmbiguitySetError, "radius 'abc', which is not a number"),
        ("kl", AmbiguitySetError, "has no radius; expected 'kl:R'"),
        ("chi2:", AmbiguitySetError, "has no radius"),
        ("kl:-1", AmbiguitySetError, "ambiguity spec 'kl:-1': KLBall radius eps must be"),
        ("kl:nan", AmbiguitySetError, "got nan"),
        ("cvar:0", AmbiguitySetError, "ambiguity spec 'cvar:0': CVaR alpha must be in (0, 1]"),
        ("nominal:0.1", AmbiguitySetError, "'nominal' takes no radius"),
    ],
)
def test_parse_errors(spec: str, error: type[Exception], fragment: str) -> None:
    with pytest.raises(error) as info:
        parse_ambiguity(spec)
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_parse_rejects_non_strings() -> None:
    with pytest.raises(AmbiguitySetError, match="must be a string"):
        parse_ambiguity(0.1)  # type: ignore[arg-type]


def test_registry_lists_every_set() -> None:
    assert AMBIGUITY_SETS.names() == ["chi2", "cvar", "kl", "nominal", "tv", "w1"]
    assert AMBIGUITY_SETS.get("w1") is WassersteinBall and "kl" in AMBIGUITY_SETS


def test_library_does_not_import_cvxpy() -> None:
    code = "import sys, droiz.ambiguity; sys.exit(int('cvxpy' in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
