"""Pooling (``torch.nn.MaxPool*``, ``AvgPool*``, ``LPPool*``, ``AdaptiveMax/AvgPool*``) and global pooling.

No parameters and no MACs. FLOPs: max pooling makes K−1 comparisons per output, average pooling K−1 additions and
one division (K per output), power-average (Lp) pooling K powers, K − 1 additions and one root (2K per output), K
being the window's elements. Adaptive pooling counts each window exactly.

Dilated average and Lp pooling exist in ONNX (AveragePool and LpPool ``dilations``), not in PyTorch: the plain
``avgpool``/``lppool`` types take ``dilation``, torch's own names (``avgpool2d``, ``lppool2d``…) refuse it.
"""


from math import prod
from typing import Annotated, ClassVar, Literal

from pydantic import Field

from cnncalc.engine.dims import ceildiv, floordiv, per_dim, slide, slide_summary
from cnncalc.engine.layers.base import GLOBAL, Evaluation, IntOrTuple, Keeps, Layer, Padding, PosInt, Window, windows
from cnncalc.engine.layers.registry import register
from cnncalc.engine.trace import settle
from cnncalc.errors import ShapeError
from cnncalc.model import Shape


class _Pool(Layer):
    """Shared fields and rule of max and average pooling; the stride defaults to the window (PyTorch)."""

    kernel_size: IntOrTuple
    stride: IntOrTuple | None = None
    padding: Padding = 0
    ceil_mode: bool = False

    def _slide(self, x: Shape, dilation: IntOrTuple) -> tuple[Evaluation, int]:
        self.check_dims(x, min_spatial=1)
        stride = self.kernel_size if self.stride is None else self.stride
        sl = slide(x[1:], self.kernel_size, stride, self.padding, dilation, ceil_mode=self.ceil_mode)
        for (before, after), k in zip(sl.pads, sl.kernel, strict=True):
            if max(before, after) > k // 2:  # torch compares with the kernel, not the dilated extent
                raise ShapeError(
                    f"padding {max(before, after)} is more than half the kernel {k} (at most {k // 2}): PyTorch "
                    "rejects pooling padding over half the kernel, so cnncalc does too"
                )
        summary = slide_summary(sl) + (" ceil" if self.ceil_mode else "")
        shape = (x[0], *sl.out)
        return Evaluation(shape, rf=windows(sl), summary=summary, warnings=sl.warnings), prod(sl.kernel)


@register
class MaxPool(_Pool):
    """Max pooling; FLOPs = (K − 1) comparisons per output element."""

    family: ClassVar[str] = "pool"

    type: Literal["maxpool", "maxpool1d", "maxpool2d", "maxpool3d"]
    dilation: IntOrTuple = 1

    dims_of_type: ClassVar[dict[str, int]] = {"maxpool1d": 1, "maxpool2d": 2, "maxpool3d": 3}

    def evaluate(self, x: Shape) -> Evaluation:
        """Sliding window with dilation; comparisons as FLOPs."""
        ev, k = self._slide(x, self.dilation)
        return Evaluation(ev.shape, flops=prod(ev.shape) * (k - 1), rf=ev.rf, summary=ev.summary, warnings=ev.warnings)

    def keeps(self) -> Keeps:
        """max_pool*_with_indices keeps input and int64 indices; inference allocates the indices too."""
        return Keeps(saves=("input", "indices"), workspace=("indices",))


@register
class AvgPool(_Pool):
    """Average pooling; FLOPs = K per output element (K − 1 additions, one division)."""

    family: ClassVar[str] = "pool"

    type: Literal["avgpool", "avgpool1d", "avgpool2d", "avgpool3d"]
    count_include_pad: bool = True
    #: ONNX AveragePool's ``dilations`` (opset 19); PyTorch's AvgPool has none, so ``avgpool1d/2d/3d`` refuse it.
    dilation: IntOrTuple = 1

    dims_of_type: ClassVar[dict[str, int]] = {"avgpool1d": 1, "avgpool2d": 2, "avgpool3d": 3}

    def evaluate(self, x: Shape) -> Evaluation:
        """Sliding window (dilated only with ONNX semantics); additions and a division as FLOPs."""
        torch_only(self.type, self.dilation, "AvgPool")
        kernel = per_dim(self.kernel_size, len(x) - 1, "kernel_size")
        if len(x) == 4 and any(w < kk for w, kk in zip(x[1:], kernel, strict=True)):
            # torch's avg_pool3d (unlike 1-D and 2-D) checks the unpadded input against the kernel.
            raise ShapeError(f"3-D average pooling needs an input at least as large as the kernel {list(kernel)} "
                             "before padding (PyTorch's avg_pool3d rejects it)")
        ev, k = self._slide(x, self.dilation)
        return Evaluation(ev.shape, flops=prod(ev.shape) * k, rf=ev.rf, summary=ev.summary, warnings=ev.warnings)

    def keeps(self) -> Keeps:
        """avg_pool backward reads the input."""
        return Keeps(saves=("input",))


def torch_only(kind: str, dilation: IntOrTuple, torch_class: str) -> None:
    """Refuse dilation on a type named after a PyTorch class that has none (ONNX's operator has it)."""
    if kind[-2:] in ("1d", "2d", "3d") and dilation not in (1, [1], [1, 1], [1, 1, 1]):
        raise ShapeError(f"PyTorch's {torch_class}{kind[-2:]} has no dilation; ONNX's operator has: write type "
                         f"'{kind[:-2]}' for ONNX semantics")


@register
class LpPool(_Pool):
    """Power-average pooling: (Σ xᵖ)^(1/p) over each window (``torch.nn.LPPool1d/2d/3d``, ONNX LpPool).

    torch's LPPool has no padding and no dilation (``lppool1d/2d/3d`` refuse them); ONNX's LpPool has both
    (``lppool``). FLOPs: K powers, K − 1 additions and one root per output (2K).
    """

    family: ClassVar[str] = "pool"

    type: Literal["lppool", "lppool1d", "lppool2d", "lppool3d"]
    norm_type: float = 2.0
    dilation: IntOrTuple = 1

    dims_of_type: ClassVar[dict[str, int]] = {"lppool1d": 1, "lppool2d": 2, "lppool3d": 3}

    def evaluate(self, x: Shape) -> Evaluation:
        """Average pooling's window without the division; 2K FLOPs per output."""
        torch_only(self.type, self.dilation, "LPPool")
        if self.type != "lppool" and self.padding != 0:
            raise ShapeError(f"PyTorch's LPPool{self.type[-2:]} has no padding; ONNX's LpPool has: write type "
                             "'lppool' for ONNX semantics")
        ev, k = self._slide(x, self.dilation)
        return Evaluation(ev.shape, flops=prod(ev.shape) * 2 * k, rf=ev.rf,
                          summary=f"p={self.norm_type:g} {ev.summary}", warnings=ev.warnings)

    def keeps(self) -> Keeps:
        """torch's lp_pool is several kernels: pow saves the input, avg_pool2d its input xᵖ, abs the pooled sum,
        relu its result, mul the sign and the relu, pow(1/p) the scaled sum: the input and five temporaries. The
        xᵖ copy has the input's size, counted at the output's (under when windows do not overlap)."""
        return Keeps(saves=("input", "copy", "copy", "copy", "copy", "copy"))


OutputSize = PosInt | Annotated[list[PosInt | None], Field(min_length=1, max_length=3)]


def adaptive_windows(size: int, out: int) -> list[int]:
    """PyTorch's adaptive window lengths: window i spans ⌊i·W/O⌋ to ⌈(i+1)·W/O⌉."""
    # settled: a derivation shows each window's size (⌈28 / 1⌉ − ⌊0·28 / 1⌋ is just 28)
    return [settle(ceildiv((i + 1) * size, out) - floordiv(i * size, out)) for i in range(out)]


@register
class AdaptivePool(Layer):
    """Adaptive pooling to a fixed output size (``None`` keeps a dim); global pooling is output size 1.

    Receptive field: the largest window and stride ⌊W/O⌋ (exact when O divides W, an upper bound otherwise).
    FLOPs: average counts every window element (additions plus the division); max counts len − 1 comparisons.
    """

    family: ClassVar[str] = "pool"

    type: Literal[
        "adaptive_avgpool", "adaptive_maxpool", "adaptive_avgpool1d", "adaptive_avgpool2d", "adaptive_avgpool3d",
        "adaptive_maxpool1d", "adaptive_maxpool2d", "adaptive_maxpool3d", "global_avgpool", "global_maxpool",
    ]
    output_size: OutputSize = 1

    dims_of_type: ClassVar[dict[str, int]] = {
        f"adaptive_{kind}pool{n}d": n for kind in ("avg", "max") for n in (1, 2, 3)
    }

    @property
    def averages(self) -> bool:
        """True for average pooling, False for max: the role front ends (counting conventions) ask for."""
        return "avg" in self.type

    def evaluate(self, x: Shape) -> Evaluation:
        """Window lengths per dim are separable, so the total window volume is a product of sums."""
        n = self.check_dims(x, min_spatial=1)
        if self.type.startswith("global") and self.output_size != 1:
            raise ShapeError(f"{self.type} always outputs size 1; use adaptive_{self.type[7:]} for other sizes")
        raw = per_dim(self.output_size, n, "output_size") if isinstance(self.output_size, int) else self.output_size
        if len(raw) not in (1, n):
            raise ShapeError(f"output_size {raw} has {len(raw)} values for {n} spatial dims")
        if n == 1 and None in raw:
            raise ShapeError("a 1-D adaptive pool needs a size, not null (torch's AdaptiveAvg/MaxPool1d take an int)")
        targets = [size if o is None else o for size, o in zip(x[1:], raw * n if len(raw) == 1 else raw, strict=True)]
        lengths = [adaptive_windows(size, o) for size, o in zip(x[1:], targets, strict=True)]
        volume = x[0] * prod(sum(ls) for ls in lengths)
        shape = (x[0], *targets)
        flops = volume if self.averages else volume - prod(shape)
        rf: tuple[Window, ...] | Literal["global"] = GLOBAL
        if not all(o == 1 for o in targets) and all(isinstance(w, int) for w in x[1:]):  # symbolic: untracked
            rf = tuple(
                Window.regular(max(ls), max(size // o, 1), 0)
                for ls, size, o in zip(lengths, x[1:], targets, strict=True)
            )
        return Evaluation(shape, flops=flops, rf=rf, summary="→" + "x".join(map(str, targets)))

    def keeps(self) -> Keeps:
        """Average to 1×…×1 is torch's ``mean`` (keeps nothing); max also keeps indices."""
        ones = self.output_size == 1 or (isinstance(self.output_size, list) and set(self.output_size) == {1})
        return Keeps(saves=("input", "indices") if not self.averages else () if ones else ("input",))


@register
class Subsample(_Pool):
    """LeCun et al. (1998)'s trainable subsampling (S2, S4): the window's sum times a learned coefficient, plus a
    learned bias, per channel.

    Params 2·C; MACs one per output (the coefficient); FLOPs (K − 1) additions, a multiply and the bias per output;
    connections K + 1 per output (the paper's count).
    """

    family: ClassVar[str] = "pool"

    type: Literal["subsample"]

    def evaluate(self, x: Shape) -> Evaluation:
        """Pooling arithmetic with two parameters per channel."""
        ev, k = self._slide(x, 1)
        outputs = prod(ev.shape)
        return Evaluation(
            ev.shape, params=2 * x[0], biases=x[0], macs=outputs, flops=outputs * (k + 1),
            connections=outputs * (k + 1), rf=ev.rf, summary=ev.summary, warnings=ev.warnings,
        )

    def keeps(self) -> Keeps:
        """The average pool's input; the scale and bias add temporaries of the output's size."""
        return Keeps(saves=("input", "copy"), workspace=("copy",))
