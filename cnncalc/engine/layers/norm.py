"""Normalisation: batch norm (``torch.nn.BatchNorm1d/2d/3d``), local response normalisation (AlexNet), layer, group
and instance norm, and layer scale (ConvNeXt's per-channel γ).

Layer, group and instance norm compute their statistics per sample, so their FLOPs follow fvcore's count
(``fvcore/nn/jit_handles.py`` ``norm_flop_counter``): 5 per element with an affine transform, 4 without. Layer
scale multiplies every element by its channel's γ: 1 FLOP per element, one parameter per channel.

Batch norm has 2·C parameters (γ, β) when ``affine`` and 2·C + 1 buffers (running mean, running variance and
torch's ``num_batches_tracked`` counter) when ``track_running_stats`` — reported separately, as torch does.
FLOPs at inference: 2 per element (the folded scale and shift). LRN has no parameters; its FLOPs per element are
2·size + 3 (size squares, size − 1 additions, then scale, add k, power and divide).
"""


from math import prod
from typing import Annotated, ClassVar, Literal

from pydantic import Field

from cnncalc.engine.layers.base import Evaluation, Keeps, Layer, PosInt, channels
from cnncalc.engine.layers.registry import register
from cnncalc.errors import ShapeError
from cnncalc.model import Shape, fmt_shape


@register
class BatchNorm(Layer):
    """Per-channel normalisation; any rank (``batchnorm1d`` also takes a plain ``[C]`` vector)."""

    family: ClassVar[str] = "norm"
    quiet: ClassVar[bool] = True

    type: Literal["batchnorm", "bn", "batchnorm1d", "batchnorm2d", "batchnorm3d"]
    num_features: PosInt | None = None
    eps: Annotated[float, Field(gt=0)] = 1e-5
    momentum: float | None = 0.1
    affine: bool = True
    track_running_stats: bool = True

    dims_of_type: ClassVar[dict[str, int]] = {"batchnorm2d": 2, "batchnorm3d": 3}

    def evaluate(self, x: Shape) -> Evaluation:
        """γ, β as parameters; running statistics as buffers."""
        if self.check_dims(x) > 1 and self.type == "batchnorm1d":
            raise ShapeError(f"batchnorm1d takes C or C×L inputs (as torch), got {fmt_shape(x)}; use batchnorm2d/3d")
        c = channels(x, self.num_features, "num_features")
        return Evaluation(
            x,
            params=2 * c if self.affine else 0,
            buffers=2 * c + 1 if self.track_running_stats else 0,
            flops=2 * prod(x),
            summary=f"eps={self.eps:g}",
        )

    def keeps(self) -> Keeps:
        """Training batch norm saves its input and the batch mean and inverse std."""
        return Keeps(saves=("input", "stats"))


@register
class LocalResponseNorm(Layer):
    """Local response normalisation across ``size`` neighbouring channels (Krizhevsky et al. 2012, Sec. 3.3)."""

    family: ClassVar[str] = "norm"
    quiet: ClassVar[bool] = True

    type: Literal["lrn", "local_response_norm"]
    size: PosInt = 5
    alpha: float = 1e-4
    beta: float = 0.75
    k: float = 1.0

    def evaluate(self, x: Shape) -> Evaluation:
        """Shape-preserving; 2·size + 3 FLOPs per element."""
        channels(x, None)
        return Evaluation(x, flops=prod(x) * (2 * self.size + 3), summary=f"size={self.size}")

    def keeps(self) -> Keeps:
        """torch composes LRN from square, pad, avg-pool, scale, pow and div: three output-sized temporaries at once."""
        return Keeps(saves=("input", "copy", "copy", "copy"), workspace=("copy", "copy"))


def _fvcore_norm(x: Shape, affine: bool) -> int:
    """fvcore's per-sample normalisation FLOPs: 5 per element with an affine transform, 4 without."""
    return prod(x) * (5 if affine else 4)


@register
class LayerNorm(Layer):
    """``torch.nn.LayerNorm`` over the last dims (``normalized_shape``, default the last dim), or ``layernorm2d``:
    over the channels at each position of a channels-first map (ConvNeXt's LayerNorm2d).

    Parameters: γ (and β unless ``bias: false``) of the normalised shape when ``elementwise_affine``; no buffers.
    """

    family: ClassVar[str] = "norm"
    quiet: ClassVar[bool] = True

    type: Literal["layernorm", "layer_norm", "layernorm2d"]
    normalized_shape: PosInt | Annotated[list[PosInt], Field(min_length=1)] | None = None
    eps: Annotated[float, Field(gt=0)] = 1e-5
    elementwise_affine: bool = True
    bias: bool = True

    def evaluate(self, x: Shape) -> Evaluation:
        """Shape kept; the normalised shape must be the input's last dims (its channels for layernorm2d)."""
        given = [self.normalized_shape] if isinstance(self.normalized_shape, int) else self.normalized_shape
        if self.type == "layernorm2d":
            if len(x) < 2:
                raise ShapeError(f"layernorm2d normalises the channels of a C×H×W map, got {fmt_shape(x)}")
            if given is not None and list(given) != [x[0]]:
                raise ShapeError(f"normalized_shape={given} but the input {fmt_shape(x)} has {x[0]} channels")
            norm = [x[0]]
        else:
            norm = list(given) if given is not None else [x[-1]]
            if len(norm) > len(x) or list(x[len(x) - len(norm):]) != norm:
                raise ShapeError(f"normalized_shape={norm} is not the last dims of the input {fmt_shape(x)} "
                                 "(torch normalises the trailing dims; permute to channels last, or use layernorm2d)")
        size = prod(norm)
        affine = self.elementwise_affine
        params = size * (2 if self.bias else 1) if affine else 0
        return Evaluation(x, params=params, biases=size if affine and self.bias else 0,
                          flops=_fvcore_norm(x, affine), summary="over " + "x".join(map(str, norm)))

    def keeps(self) -> Keeps:
        """native_layer_norm saves input, mean, rstd (one pair per sample and position: counted as stats); the
        permutes of layernorm2d are views."""
        return Keeps(saves=("input", "stats"))


@register
class GroupNorm(Layer):
    """``torch.nn.GroupNorm``: statistics over each of ``num_groups`` channel groups; γ, β per channel (affine)."""

    family: ClassVar[str] = "norm"
    quiet: ClassVar[bool] = True

    type: Literal["groupnorm", "group_norm"]
    num_groups: PosInt
    num_channels: PosInt | None = None
    eps: Annotated[float, Field(gt=0)] = 1e-5
    affine: bool = True

    def evaluate(self, x: Shape) -> Evaluation:
        """Channels must divide into the groups (torch's rule); 2·C parameters when affine, no buffers."""
        c = channels(x, self.num_channels, "num_channels")
        if c % self.num_groups:
            raise ShapeError(f"{c} channels do not divide into num_groups={self.num_groups}")
        return Evaluation(x, params=2 * c if self.affine else 0, biases=c if self.affine else 0,
                          flops=_fvcore_norm(x, self.affine), summary=f"g{self.num_groups}")

    def keeps(self) -> Keeps:
        """native_group_norm saves input, mean, rstd (one pair per sample and group: counted as stats)."""
        return Keeps(saves=("input", "stats"))


@register
class InstanceNorm(Layer):
    """``torch.nn.InstanceNorm1d/2d/3d``: per sample and channel, over the spatial dims.

    As torch: no parameters unless ``affine`` (2·C), no buffers unless ``track_running_stats`` (2·C + 1, with
    ``num_batches_tracked``), both off by default.
    """

    family: ClassVar[str] = "norm"
    quiet: ClassVar[bool] = True

    type: Literal["instancenorm", "instance_norm", "instancenorm1d", "instancenorm2d", "instancenorm3d"]
    num_features: PosInt | None = None
    eps: Annotated[float, Field(gt=0)] = 1e-5
    momentum: float | None = 0.1
    affine: bool = False
    track_running_stats: bool = False

    dims_of_type: ClassVar[dict[str, int]] = {"instancenorm1d": 1, "instancenorm2d": 2, "instancenorm3d": 3}

    def evaluate(self, x: Shape) -> Evaluation:
        """Needs spatial dims; parameters and buffers as torch's flags say."""
        self.check_dims(x, min_spatial=1)
        c = channels(x, self.num_features, "num_features")
        return Evaluation(x, params=2 * c if self.affine else 0, biases=c if self.affine else 0,
                          buffers=2 * c + 1 if self.track_running_stats else 0,
                          flops=_fvcore_norm(x, self.affine), summary=f"eps={self.eps:g}")

    def keeps(self) -> Keeps:
        """instance_norm is batch_norm on an N·C-channel view: it saves the input, mean and inverse std (per sample
        and channel: stats); with ``affine`` also the weight repeated per sample (N·C values, not counted)."""
        return Keeps(saves=("input", "stats"))


@register
class LayerScale(Layer):
    """Layer scale (Touvron et al. 2021, CaiT; ConvNeXt): a learned γ per channel times the input.

    ``dim`` is torch-indexed with the batch as dim 0: 1 for a channels-first map (ConvNeXt's C×1×1 γ), -1 for a
    channels-last section (timm's ``LayerScale``). One parameter per entry of that dim; 1 FLOP per element.
    """

    family: ClassVar[str] = "norm"
    quiet: ClassVar[bool] = True

    type: Literal["layer_scale", "layerscale"]
    dim: int = 1
    init: float = 1e-6

    def evaluate(self, x: Shape) -> Evaluation:
        """γ has the size of ``dim``."""
        rank = len(x) + 1
        if not -rank < self.dim < rank or self.dim % rank == 0:
            raise ShapeError(f"dim={self.dim} is not a non-batch dim of an input of rank {rank} (batch included)")
        size = x[self.dim % rank - 1]
        return Evaluation(x, params=size, flops=prod(x), summary=f"γ×{size}")

    def keeps(self) -> Keeps:
        """x · γ saves the input (and γ, a parameter); the input gradient is a new tensor."""
        return Keeps(saves=("input",))


@register
class Normalize(Layer):
    """``F.normalize(x, p, dim)``: each vector along ``dim`` divided by its p-norm (Swin V2's cosine attention
    normalises queries and keys along their last dim). No parameters.

    FLOPs: 3 per element (the power, the sum, the division) and one root per vector.
    """

    family: ClassVar[str] = "norm"
    quiet: ClassVar[bool] = True

    type: Literal["normalize", "l2_normalize"]
    p: Annotated[float, Field(gt=0)] = 2.0
    dim: int = 1
    eps: Annotated[float, Field(ge=0)] = 1e-12

    def evaluate(self, x: Shape) -> Evaluation:
        """Same shape; ``dim`` (torch-indexed, batch 0) must be a non-batch dim."""
        rank = len(x) + 1
        if not -rank <= self.dim < rank or self.dim % rank == 0:
            raise ShapeError(f"dim={self.dim} is not a dim after the batch of {fmt_shape(x)} (rank {rank})")
        size = x[self.dim % rank - 1]
        return Evaluation(x, flops=3 * prod(x) + prod(x) // size, summary=f"L{self.p:g} over dim {self.dim}")

    def keeps(self) -> Keeps:
        """The norm keeps its input and result, and the clamped norm is kept for the division: the input and two
        tensors of one value per vector (counted as stats)."""
        return Keeps(saves=("input", "stats"))
