"""Layers that grow feature maps: interpolation, bed-of-nails and max unpooling, pixel shuffle and its inverse.

None has parameters. FLOPs: nearest and unpooling copy (0); (bi/tri)linear interpolation costs 2^(d+1) − 1 per
output value (2^d weighted neighbours in d dims), bicubic 31 (16 multiplies, 15 additions). Receptive fields use
a fractional jump 1/S (Araujo et al.'s formulas hold unchanged): an output depends on one input pixel for
nearest, unpooling and pixel shuffle, 2 per dim for linear modes and 4 for bicubic.
"""


from fractions import Fraction
from math import floor, prod
from typing import Annotated, ClassVar, Literal

from pydantic import Field

from cnncalc.engine.dims import fmt_dims, per_dim
from cnncalc.engine.layers.base import Evaluation, IntOrTuple, Keeps, Layer, Linked, PosInt, Window, channels
from cnncalc.engine.layers.registry import register
from cnncalc.errors import ShapeError
from cnncalc.model import Shape, fmt_shape

Sizes = PosInt | Annotated[list[PosInt], Field(min_length=1, max_length=3)]
PosFloat = Annotated[float, Field(gt=0)]
Scale = PosFloat | Annotated[list[PosFloat], Field(min_length=1, max_length=3)]

_MODE_DIMS = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}
_NEIGHBOURS = {"nearest": 1, "linear": 2, "bilinear": 2, "trilinear": 2, "bicubic": 4}


def _copy_windows(n: int, factor: tuple[int, ...] | tuple[float, ...]) -> tuple[Window, ...]:
    """Each output copies one input pixel (torch's nearest rule, ⌊o / f⌋); the jump shrinks by the factor."""
    return tuple(Window.copy(Fraction(f).limit_denominator(1000)) for f in factor[:n])


def _interpolation_window(ratio: Fraction, neighbours: int, align_corners: bool) -> Window:
    """Linear modes read the 2 pixels around the source position, bicubic 4; torch's source rule per mode.

    align_corners=False: src = (o + ½)/ratio − ½; True: src = o/ratio (the ratio of (in − 1) and (out − 1)).
    """
    up, step = ratio.numerator, ratio.denominator
    if align_corners:
        base_step, base_up, offset = step, up, 0
    else:
        base_step, base_up, offset = 2 * step, 2 * up, up - step
    before = neighbours // 2 - 1  # bicubic reads one pixel before ⌊src⌋, linear none
    return Window(base_step, base_up, offset + before * base_up, offset - (neighbours - 1 - before) * base_up)


@register
class Upsample(Layer):
    """``torch.nn.Upsample`` / ``F.interpolate``: by ``scale_factor`` (output ⌊W·s⌋), to ``size``, or to the spatial
    size of another node, ``size_like: NAME`` (``input`` or any earlier layer): torchvision's segmentation heads'
    ``F.interpolate(x, size=input.shape[-2:])``, right at every input size. Modes as torch.
    """

    family: ClassVar[str] = "upsample"

    type: Literal["upsample", "upsample_nearest", "upsample_bilinear", "interpolate"]
    scale_factor: Scale | None = None
    size: Sizes | None = None
    size_like: str | None = None
    mode: Literal["nearest", "linear", "bilinear", "bicubic", "trilinear"] = "nearest"
    align_corners: bool | None = None

    links: ClassVar[tuple[str, ...]] = ("size_like",)

    @property
    def resolved_mode(self) -> str:
        """The interpolation mode, with the ``upsample_bilinear`` alias read as ``bilinear``."""
        return "bilinear" if self.type == "upsample_bilinear" else self.mode

    def evaluate(self, x: Shape) -> Evaluation:
        """Target sizes, interpolation FLOPs and fractional-jump receptive field."""
        return self._resize(x, None)

    def evaluate_linked(self, x: Shape, linked: dict[str, Linked]) -> Evaluation:
        """To the spatial size of the node ``size_like`` names (its channels stay the input's)."""
        return self._resize(x, linked.get("size_like"))

    def _target(self, x: Shape, n: int, like: Linked | None) -> tuple[int, ...] | None:
        """The output's spatial sizes when given (``size`` or ``size_like``), None for ``scale_factor``."""
        if sum(v is not None for v in (self.size, self.scale_factor, self.size_like)) != 1:
            raise ShapeError("give exactly one of size, scale_factor and size_like (a layer name)")
        if self.size_like is not None:
            if like is None:
                raise ShapeError(f"size_like needs the layer it names ('{self.size_like}')")
            if len(like.output_shape) != len(x):
                raise ShapeError(
                    f"size_like names '{like.name}', whose output {fmt_shape(like.output_shape)} has "
                    f"{len(like.output_shape) - 1} spatial dim(s); the input {fmt_shape(x)} has {n}"
                )
            return tuple(like.output_shape[1:])
        return None if self.size is None else per_dim(self.size, n, "size")

    def _resize(self, x: Shape, like: Linked | None) -> Evaluation:
        n = self.check_dims(x, min_spatial=1)
        mode = self.resolved_mode
        want = _MODE_DIMS.get(mode)
        if want is not None and n != want:
            raise ShapeError(f"mode '{mode}' interpolates {want} spatial dim(s); the input {fmt_shape(x)} has {n}")
        target = self._target(x, n, like)
        if self.align_corners is not None and mode == "nearest":
            raise ShapeError("align_corners only applies to the linear and cubic modes")
        sizes = x[1:]
        if target is not None:
            out = target
            scales: tuple[float, ...] = ()
            if all(isinstance(v, int) for v in (*out, *sizes)):
                scales = tuple(o / w for o, w in zip(out, sizes, strict=True))
        else:
            scales = tuple(self.scale_factor for _ in range(n)) if isinstance(self.scale_factor, float | int) \
                else tuple(self.scale_factor or ())
            if len(scales) == 1:
                scales *= n
            if len(scales) != n:
                raise ShapeError(f"scale_factor {self.scale_factor} has {len(scales)} values for {n} spatial dims")
            out = tuple(floor(w * sc) for w, sc in zip(sizes, scales, strict=True))
            if any(o < 1 for o in out):
                raise ShapeError(f"scale_factor {self.scale_factor} shrinks {fmt_shape(x)} below one pixel")
        neighbours = _NEIGHBOURS[mode]
        per_output = 0 if mode == "nearest" else 31 if mode == "bicubic" else 2 ** (n + 1) - 1
        shape = (x[0], *out)
        rf: list[Window] = []
        if not scales:  # a size-dependent ratio (symbolic sizes): the window is o/w, not a number
            rf = [Window(w, o, 0, 0) for w, o in zip(sizes, out, strict=True)]
        for w, o, sc in zip(sizes, out, scales, strict=False):
            if neighbours == 1:
                rf.append(Window.copy(Fraction(sc).limit_denominator(1000)))
            elif self.align_corners and o > 1:
                rf.append(_interpolation_window(Fraction(o - 1, max(w - 1, 1)), neighbours, True))
            else:
                rf.append(_interpolation_window(Fraction(sc).limit_denominator(1000), neighbours, False))
        label = "x".join(f"{sc:g}" for sc in scales) if target is None else "→" + "x".join(map(str, out))
        if like is not None:
            label += f" (as {like.name})"
        return Evaluation(shape, flops=prod(shape) * per_output, rf=tuple(rf), summary=f"{mode} {label}")

    def keeps(self) -> Keeps:
        """Interpolation backward needs only sizes."""
        return Keeps(saves=())


@register
class Unpool(Layer):
    """Bed-of-nails unpooling (cs231n): each value goes to the corner of an S×S block, zeros elsewhere."""

    family: ClassVar[str] = "upsample"

    type: Literal["unpool", "bed_of_nails"]
    scale_factor: IntOrTuple = 2

    def evaluate(self, x: Shape) -> Evaluation:
        """W·S per dim; no arithmetic."""
        n = self.check_dims(x, min_spatial=1)
        factor = per_dim(self.scale_factor, n, "scale_factor")
        shape = (x[0], *(w * f for w, f in zip(x[1:], factor, strict=True)))
        return Evaluation(shape, rf=_copy_windows(n, factor), summary=f"x{fmt_dims(factor)}")

    def keeps(self) -> Keeps:
        """A strided copy into zeros: nothing kept."""
        return Keeps(saves=())


@register
class MaxUnpool(Layer):
    """``torch.nn.MaxUnpool*``: puts values back where the max-pool named by ``indices`` found them.

    The output takes the size of that pool's input (what torch does with ``output_size=x.size()``); it must lie in
    torch's range: strictly between (W − 1)·S − 2P + K ∓ S.
    """

    family: ClassVar[str] = "upsample"

    type: Literal["max_unpool", "maxunpool", "max_unpool1d", "max_unpool2d", "max_unpool3d"]
    indices: str
    kernel_size: IntOrTuple | None = None
    stride: IntOrTuple | None = None
    padding: IntOrTuple | Literal[0] = 0

    links: ClassVar[tuple[str, ...]] = ("indices",)
    dims_of_type: ClassVar[dict[str, int]] = {"max_unpool1d": 1, "max_unpool2d": 2, "max_unpool3d": 3}

    def evaluate(self, x: Shape) -> Evaluation:
        """Without the linked pool there is nothing to unpool."""
        raise ShapeError(f"max_unpool needs the max-pool named by indices ('{self.indices}')")

    def evaluate_linked(self, x: Shape, linked: dict[str, Linked]) -> Evaluation:
        """Output = the linked pool's input shape, checked against torch's admissible range."""
        n = self.check_dims(x, min_spatial=1)
        pool = linked["indices"]
        if not pool.type.startswith("maxpool"):
            raise ShapeError(f"indices names '{pool.name}', a {pool.type}; only a max-pool records indices")
        if x != pool.output_shape:
            raise ShapeError(
                f"its input {fmt_shape(x)} differs from the output {fmt_shape(pool.output_shape)} of '{pool.name}', "
                "whose indices it uses"
            )
        if self.kernel_size is None:
            raise ShapeError(f"give kernel_size (the kernel of '{pool.name}')")
        kernel = per_dim(self.kernel_size, n, "kernel_size")
        stride = per_dim(self.stride or kernel, n, "stride")
        pad = per_dim(self.padding, n, "padding") if self.padding else (0,) * n
        target = pool.input_shape[1:]
        for w, t, k, s, p in zip(x[1:], target, kernel, stride, pad, strict=True):
            default = (w - 1) * s - 2 * p + k  # torch's _unpool_output_size: default − S < size < default + S
            if not default - s < t < default + s:
                raise ShapeError(
                    f"cannot unpool {w} to {t} with kernel {k}, stride {s}: torch allows {default - s + 1}–"
                    f"{default + s - 1}"
                )
        shape = (x[0], *target)
        return Evaluation(shape, rf=_copy_windows(n, stride), summary=f"← {pool.name}")

    def keeps(self) -> Keeps:
        """max_unpool keeps the (already live) indices."""
        return Keeps(saves=())


@register
class PixelShuffle(Layer):
    """Sub-pixel convolution's rearrangement (Shi et al. 2016): C·r² × H × W → C × rH × rW; ``depth_to_space`` too."""

    family: ClassVar[str] = "upsample"

    type: Literal["pixel_shuffle", "depth_to_space"]
    upscale_factor: PosInt
    mode: Literal["DCR", "CRD"] = "DCR"

    def evaluate(self, x: Shape) -> Evaluation:
        """Channels divided by r², each spatial dim multiplied by r."""
        if len(x) != 3:
            raise ShapeError(f"{self.type} works on C×H×W inputs, got {fmt_shape(x)}")
        r = self.upscale_factor
        if x[0] % (r * r):
            raise ShapeError(f"channels {x[0]} are not divisible by upscale_factor² = {r * r}")
        shape = (x[0] // (r * r), x[1] * r, x[2] * r)
        return Evaluation(shape, rf=_copy_windows(2, (r, r)), summary=f"x{r}")

    def keeps(self) -> Keeps:
        """A permuted copy: nothing kept."""
        return Keeps(saves=())


@register
class PixelUnshuffle(Layer):
    """The inverse: C × H × W → C·r² × H/r × W/r (``space_to_depth``)."""

    family: ClassVar[str] = "upsample"

    type: Literal["pixel_unshuffle", "space_to_depth"]
    downscale_factor: PosInt

    def evaluate(self, x: Shape) -> Evaluation:
        """Each output location gathers an r×r block."""
        if len(x) != 3:
            raise ShapeError(f"{self.type} works on C×H×W inputs, got {fmt_shape(x)}")
        r = self.downscale_factor
        if x[1] % r or x[2] % r:
            raise ShapeError(f"spatial size {x[1]}x{x[2]} is not divisible by downscale_factor {r}")
        channels(x, None)
        shape = (x[0] * r * r, x[1] // r, x[2] // r)
        return Evaluation(shape, rf=(Window.regular(r, r, 0), Window.regular(r, r, 0)), summary=f"/{r}")

    def keeps(self) -> Keeps:
        """A permuted copy: nothing kept."""
        return Keeps(saves=())
