"""Build the per-round surrogate: kernel choice, instruction features, warm-started fit.

Kernels and surrogates are registered by name (:data:`KERNELS`, :data:`SURROGATES`):

* a kernel is ``build(z, inputs) -> gpytorch Kernel`` on the unit cube, given the ``n x d``
  training soft prompts and the round's :class:`KernelInputs`; ``needs`` names what every
  ``tell`` must then give (``"scores"`` or ``"embeddings"``);
* a surrogate is ``build(z, y, kernel) -> model``: an unfitted model with ``fit(maxiter)``,
  ``predict(z) -> (mean, var)`` (``b x K`` each), BoTorch's ``posterior`` and
  ``named_parameters`` (for warm starts), e.g. :class:`~droiz.surrogate.model.GroupGP` (the
  type the engine is checked against; any model with these methods works at run time).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch
from gpytorch.kernels import Kernel
from torch import Tensor

from droiz.ambiguity import AmbiguitySet
from droiz.exceptions import ConfigError, ShapeError
from droiz.registry import Registry
from droiz.surrogate.kernels import InstructionCoupledKernel, matern_kernel
from droiz.surrogate.model import GroupGP, masked_mean, to_unit
from droiz.surrogate.shared import SharedGroupGP


@dataclass(frozen=True)
class KernelInputs:
    """What a kernel may use besides the soft prompts (fixed for the round).

    Attributes:
        scores: ``n x E`` per-example scores, NaN where not evaluated. example_groups: ``E``
            group of each example. embeddings: ``n x D`` instruction embeddings.
        weights: ``K`` weights fixed for the round (the reference weights).
        features, omega: Precomputed ``n x p`` instruction features and their ``p`` weights
            (bypass ``scores``/``embeddings``).
        wstar: ``K`` worst-case weights of the last round's incumbent (``coupled-scores-wstar``;
            ``None`` before the first BO round: the kernel then uses ``weights``).
    """

    scores: Tensor | None = None
    example_groups: Tensor | None = None
    embeddings: Tensor | None = None
    weights: Tensor | None = None
    features: Tensor | None = None
    omega: Tensor | None = None
    wstar: Tensor | None = None


KernelBuilder = Callable[[Tensor, KernelInputs], Kernel]
SurrogateBuilder = Callable[[Tensor, Tensor, Kernel], GroupGP]


@dataclass(frozen=True)
class KernelSpec:
    """A registered kernel: ``build(z, inputs)`` and what it ``needs`` from each tell."""

    name: str
    build: KernelBuilder
    needs: tuple[str, ...] = ()


KERNELS: Registry[KernelSpec] = Registry("kernel")
"""Kernels by name: ``matern``, ``coupled-scores``, ``coupled-scores-wstar``,
``coupled-semantic``."""

SURROGATES: Registry[SurrogateBuilder] = Registry("surrogate")
"""Surrogate models by name: ``independent`` (:class:`GroupGP`, groups independent a priori) and
``shared`` (:class:`~droiz.surrogate.shared.SharedGroupGP`, ``f_t = g + h_t``)."""


def register_kernel(
    name: str, *, needs: tuple[str, ...] = ()
) -> Callable[[KernelBuilder], KernelBuilder]:
    """Decorator registering ``build(z, inputs) -> Kernel`` as the kernel ``name``."""
    bad = set(needs) - {"scores", "embeddings"}
    if bad:
        raise ConfigError(f"a kernel can need 'scores' or 'embeddings', not {sorted(bad)}")

    def deco(fn: KernelBuilder) -> KernelBuilder:
        KERNELS.add(name, KernelSpec(name, fn, tuple(needs)))
        return fn

    return deco


SURROGATES.add("independent", lambda z, y, kernel: GroupGP(z, y, kernel=kernel))
# f_t = g + h_t (docs/surrogate.md): the deviations h_t get their own copy of the round's kernel
SURROGATES.add(
    "shared",
    lambda z, y, kernel: SharedGroupGP(z, y, kernel=kernel, deviation=copy.deepcopy(kernel)),
)
WSTAR_KERNEL = "coupled-scores-wstar"


@register_kernel("matern")
def _matern(z: Tensor, inputs: KernelInputs) -> Kernel:
    return matern_kernel(z.shape[-1])


@register_kernel("coupled-scores", needs=("scores",))
def _coupled_scores(z: Tensor, inputs: KernelInputs) -> Kernel:
    features, omega = inputs.features, inputs.omega
    if features is None and inputs.scores is not None:
        assert inputs.example_groups is not None and inputs.weights is not None
        features, omega = score_features(inputs.scores, inputs.example_groups, inputs.weights)
    return coupled_kernel("coupled-scores", z, features, omega)


@register_kernel(WSTAR_KERNEL, needs=("scores",))
def _coupled_scores_wstar(z: Tensor, inputs: KernelInputs) -> Kernel:
    """``coupled-scores`` with the score distance weighted by ``w*`` (see
    :func:`incumbent_weights`) instead of the reference weights; fixed per round, so PSD."""
    weights = inputs.wstar if inputs.wstar is not None else inputs.weights
    features, omega = inputs.features, inputs.omega
    if features is None and inputs.scores is not None:
        assert inputs.example_groups is not None and weights is not None
        features, omega = score_features(inputs.scores, inputs.example_groups, weights)
    return coupled_kernel(WSTAR_KERNEL, z, features, omega)


def incumbent_weights(
    mean: Tensor, scores: Tensor, ambiguity: AmbiguitySet, reference: Tensor
) -> Tensor:
    """``w*`` of the ``coupled-scores-wstar`` kernel: the adversary's weights at the incumbent.

    The incumbent is the evaluated point with the highest ``scores`` (the method's own final-pick
    criterion); its ``w*`` is the worst case over ``ambiguity`` around ``reference`` of its
    posterior means. The engine computes it each BO round and keeps it fixed for the next.

    Args:
        mean: ``n x K`` posterior means at the evaluated points. scores: ``n`` their final-pick
            scores. reference: ``K`` reference weights.

    Returns:
        ``K`` weights on the simplex.
    """
    best = int(torch.argmax(scores))
    return ambiguity.worst_case(mean[best : best + 1], reference).weights[0].detach()


@register_kernel("coupled-semantic", needs=("embeddings",))
def _coupled_semantic(z: Tensor, inputs: KernelInputs) -> Kernel:
    features = inputs.features if inputs.features is not None else inputs.embeddings
    return coupled_kernel("coupled-semantic", z, features, inputs.omega)


def coupled_kernel(
    kind: str, z: Tensor, features: Tensor | None, omega: Tensor | None
) -> InstructionCoupledKernel:
    """The instruction-coupled kernel fixed to the round's ``n x p`` features."""
    if features is None or len(features) != len(z):
        got = None if features is None else tuple(features.shape)
        raise ShapeError(f"kernel {kind!r} needs n x p instruction features, got {got}")
    kernel = InstructionCoupledKernel(z.shape[-1])
    p = features.shape[-1]
    w = omega if omega is not None else torch.full((p,), 1.0 / p, dtype=torch.float64)
    kernel.set_data(to_unit(z.to(torch.float64)), features.to(torch.float64), w)
    return kernel


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
        weights: ``K`` weights fixed for the round (the reference weights).

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


def make_gp(
    kind: str,
    z: Tensor,
    y: Tensor,
    *,
    inputs: KernelInputs | None = None,
    features: Tensor | None = None,
    omega: Tensor | None = None,
    warm_start: Mapping[str, Tensor] | None = None,
    maxiter: int = 200,
    surrogate: str = "independent",
) -> GroupGP:
    """Build and fit the surrogate of one round.

    Args:
        kind: A registered kernel (``"matern"``, ``"coupled-scores"``, ``"coupled-semantic"``).
        z: ``n x d`` soft prompts. y: ``n x K`` observed means, NaN where unobserved.
        inputs: The round's kernel inputs (scores, embeddings, weights).
        features: ``n x p`` precomputed instruction features (instead of ``inputs``).
        omega: ``p`` feature weights (default: ``1 / p`` each).
        warm_start: Hyperparameters of the previous round (``named_parameters`` of a model with
            the same kernel and surrogate), used as the starting point of the fit.
        maxiter: L-BFGS-B iterations.
        surrogate: A registered surrogate (default ``"independent"``, :class:`GroupGP`).
    """
    spec = KERNELS.get(kind)
    build = SURROGATES.get(surrogate)
    if inputs is None or features is not None:
        inputs = KernelInputs(features=features, omega=omega)
    model = build(z, y, spec.build(z, inputs))
    if warm_start:
        _load_hyperparameters(model, warm_start)
    return model.fit(maxiter=maxiter)


def condition_gp(
    kind: str,
    z: Tensor,
    y: Tensor,
    fitted: Mapping[str, Tensor],
    *,
    inputs: KernelInputs | None = None,
    surrogate: str = "independent",
) -> GroupGP:
    """The surrogate of :func:`make_gp` with given (already fitted) hyperparameters, conditioned
    on ``z, y`` without fitting: what a restored engine uses instead of refitting.

    Raises:
        ConfigError: ``fitted`` does not name exactly the model's hyperparameters (with their
            shapes), e.g. it was saved by a droiz whose surrogate had other parameters.
    """
    model = SURROGATES.get(surrogate)(z, y, KERNELS.get(kind).build(z, inputs or KernelInputs()))
    params = dict(model.named_parameters())
    shapes = {k: tuple(p.shape) for k, p in params.items()}
    given = {k: tuple(v.shape) for k, v in fitted.items()}
    if given != shapes:
        raise ConfigError(
            f"the saved hyperparameters {sorted(given)} do not match the {surrogate!r} surrogate's "
            f"{sorted(shapes)}"
        )
    _load_hyperparameters(model, fitted)
    return model.eval()


def hyperparameters(gp: torch.nn.Module) -> dict[str, Tensor]:
    """The fitted raw hyperparameters, for warm starts and state dicts."""
    return {k: p.detach().clone() for k, p in gp.named_parameters()}


def _load_hyperparameters(gp: torch.nn.Module, values: Mapping[str, Tensor]) -> None:
    with torch.no_grad():
        for name, param in gp.named_parameters():
            if name in values and values[name].shape == param.shape:
                param.copy_(values[name])
