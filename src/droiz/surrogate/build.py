"""Build the per-round surrogate: kernel choice, instruction features, warm-started fit."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from gpytorch.kernels import Kernel
from torch import Tensor

from droiz.ambiguity import AmbiguitySet
from droiz.exceptions import ShapeError, UnknownNameError
from droiz.registry import unknown_name_message
from droiz.surrogate.kernels import InstructionCoupledKernel, matern_kernel
from droiz.surrogate.model import GroupGP, masked_mean, to_unit
from droiz.surrogate.shared import SharedGroupGP

WSTAR_KERNEL = "coupled-scores-wstar"
KERNELS = ("matern", "coupled-scores", "coupled-semantic", WSTAR_KERNEL)
SURROGATES = ("independent", "shared")
SCORE_KERNELS = ("coupled-scores", WSTAR_KERNEL)  # kernels on the per-example score vectors


def score_features(
    scores: Tensor, example_groups: Tensor, weights: Tensor
) -> tuple[Tensor, Tensor]:
    """Per-example score features and their weights for the coupled kernel.

    Scores of examples in groups an instruction was not evaluated on are NaN; they are imputed
    with that example's mean score over the instructions that were evaluated on it (a fixed
    feature map, so the kernel stays PSD). Imputing with the instruction's own mean would make a
    fragile instruction seen only on its good groups look uniformly good.

    Args:
        scores: ``n x E`` per-example scores in ``[0, 1]``, NaN where not evaluated.
        example_groups: ``E`` group index of each example.
        weights: ``K`` weights fixed for the round: the reference weights (``coupled-scores``)
            or the worst-case weights ``w*`` of the last round's incumbent
            (``coupled-scores-wstar``, see :func:`incumbent_weights`).

    Returns:
        ``(features n x E, omega E)`` with ``omega_e = K w_t / |G_t|`` for ``e`` in group ``t``.
    """
    observed = ~torch.isnan(scores)
    col_mean = masked_mean(scores, observed, 0.5)
    features = torch.where(observed, scores, col_mean)
    k = weights.shape[-1]
    sizes = torch.bincount(example_groups, minlength=k).to(torch.float64)
    omega = k * weights[example_groups] / sizes[example_groups]
    return features.to(torch.float64), omega.to(torch.float64)


def incumbent_weights(
    mean: Tensor, scores: Tensor, ambiguity: AmbiguitySet, reference: Tensor
) -> Tensor:
    """``w*`` of the ``coupled-scores-wstar`` kernel: the adversary's weights at the incumbent.

    The incumbent is the evaluated point with the highest ``scores`` (the method's own final-pick
    criterion); its ``w*`` is the worst case over ``ambiguity`` around ``reference`` of its
    posterior means. The engine computes it after each round and keeps it fixed for the next, so
    the kernel is PSD (it is the coupled kernel with other fixed weights).

    Args:
        mean: ``n x K`` posterior means at the evaluated points. scores: ``n`` their final-pick
            scores. reference: ``K`` reference weights.

    Returns:
        ``K`` weights on the simplex.
    """
    best = int(torch.argmax(scores))
    return ambiguity.worst_case(mean[best : best + 1], reference).weights[0].detach()


def make_gp(
    kind: str,
    z: Tensor,
    y: Tensor,
    *,
    features: Tensor | None = None,
    omega: Tensor | None = None,
    warm_start: Mapping[str, Tensor] | None = None,
    maxiter: int = 200,
    surrogate: str = "independent",
) -> GroupGP:
    """Build and fit the GP of one round.

    Args:
        kind: One of :data:`KERNELS` (``coupled-scores-wstar`` is ``coupled-scores`` with
            features weighted by ``w*`` instead of the reference; the caller passes ``omega``).
        z: ``n x d`` soft prompts. y: ``n x K`` observed means, NaN where unobserved.
        features: ``n x p`` instruction features (scores or embeddings) for coupled kernels.
        omega: ``p`` feature weights (default: ``1 / p`` each).
        warm_start: Hyperparameters of the previous round (``named_parameters`` of a GP with the
            same kernel kind), used as the starting point of the fit.
        maxiter: L-BFGS-B iterations.
        surrogate: ``"independent"`` (:class:`GroupGP`: groups independent a priori, shared
            hyperparameters) or ``"shared"`` (:class:`~droiz.surrogate.shared.SharedGroupGP`:
            ``f_t = g + h_t``, both parts with kernel ``kind``).
    """
    if kind not in KERNELS:
        raise UnknownNameError(unknown_name_message("kernel", kind, KERNELS))
    if surrogate not in SURROGATES:
        raise UnknownNameError(unknown_name_message("surrogate", surrogate, SURROGATES))
    if kind != "matern" and (features is None or len(features) != len(z)):
        got = None if features is None else tuple(features.shape)
        raise ShapeError(f"kernel {kind!r} needs n x p instruction features, got {got}")
    kernel = _kernel(kind, z, features, omega)
    if surrogate == "shared":
        gp: GroupGP = SharedGroupGP(
            z, y, kernel=kernel, deviation=_kernel(kind, z, features, omega)
        )
    else:
        gp = GroupGP(z, y, kernel=kernel)
    if warm_start:
        _load_hyperparameters(gp, warm_start)
    return gp.fit(maxiter=maxiter)


def _kernel(kind: str, z: Tensor, features: Tensor | None, omega: Tensor | None) -> Kernel:
    if kind == "matern" or features is None:
        return matern_kernel(z.shape[-1])
    kernel = InstructionCoupledKernel(z.shape[-1])
    p = features.shape[-1]
    w = omega if omega is not None else torch.full((p,), 1.0 / p, dtype=torch.float64)
    kernel.set_data(to_unit(z.to(torch.float64)), features.to(torch.float64), w)
    return kernel


def hyperparameters(gp: GroupGP) -> dict[str, Tensor]:
    """The fitted raw hyperparameters, for warm starts and state dicts."""
    return {k: p.detach().clone() for k, p in gp.named_parameters()}


def _load_hyperparameters(gp: GroupGP, values: Mapping[str, Tensor]) -> None:
    with torch.no_grad():
        for name, param in gp.named_parameters():
            if name in values and values[name].shape == param.shape:
                param.copy_(values[name])
