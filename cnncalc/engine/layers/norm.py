"""Normalisation: batch norm (``torch.nn.BatchNorm1d/2d/3d``) and local response normalisation (AlexNet).

Batch norm has 2·C parameters (γ, β) when ``affine`` and 2·C + 1 buffers (running mean, running variance and
torch's ``num_batches_tracked`` counter) when ``track_running_stats`` — reported separately, as torch does.
FLOPs at inference: 2 per element (the folded scale and shift). LRN has no parameters; its FLOPs per element are
2·size + 3 (size squares, size − 1 additions, then scale, add k, power and divide).
"""


from math import prod
from typing import Annotated, ClassVar, Literal

from pydantic import Field

from cnncalc.engine.layers.base import Evaluation, Layer, PosInt, channels
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
