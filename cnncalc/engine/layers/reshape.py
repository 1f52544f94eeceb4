"""Layers that move or pass data without arithmetic: flatten, dropout, stochastic depth, identity, crop, pad, channel
shuffle, split, permute.

Flatten, crop, split and permute (views), dropout and stochastic depth (the identity at inference) and identity store
no new output, so they add nothing to activation memory; pad and channel shuffle make a new tensor. None has FLOPs.
"""


from math import prod
from typing import Annotated, ClassVar, Literal

from pydantic import Field

from cnncalc.engine.dims import ceildiv, fmt_pads, per_dim, resolve_padding
from cnncalc.engine.layers.base import (
    GLOBAL,
    Evaluation,
    Keeps,
    Layer,
    Linked,
    NonNegInt,
    Padding,
    PadSides,
    PosInt,
    RFStep,
    Window,
)
from cnncalc.engine.layers.registry import register
from cnncalc.errors import ShapeError
from cnncalc.model import Shape, fmt_shape


@register
class Flatten(Layer):
    """``torch.nn.Flatten``: dims are torch-indexed with the batch as dim 0 (default: everything but the batch)."""

    family: ClassVar[str] = "flatten"
    quiet: ClassVar[bool] = True

    type: Literal["flatten"]
    start_dim: int = 1
    end_dim: int = -1

    def evaluate(self, x: Shape) -> Evaluation:
        """Merge dims start..end into one."""
        full = (1, *x)
        rank = len(full)
        start = self.start_dim + rank if self.start_dim < 0 else self.start_dim
        end = self.end_dim + rank if self.end_dim < 0 else self.end_dim
        if not (0 <= start < rank and 0 <= end < rank) or start > end:
            raise ShapeError(f"start_dim={self.start_dim}, end_dim={self.end_dim} do not fit an input of rank {rank}")
        if start == 0:
            raise ShapeError("flatten would merge the batch dim; start_dim must be 1 or more")
        shape = (*full[1:start], prod(full[start : end + 1]), *full[end + 1 :])
        merged_spatial = end > start and end >= 2
        return Evaluation(shape, rf=GLOBAL if merged_spatial else None, stores=False)

    def keeps(self) -> Keeps:
        """A view: nothing kept, the gradient is a view too."""
        return Keeps(saves=(), grad="view")


@register
class Dropout(Layer):
    """Dropout: the identity at inference; ``p`` is kept for the torch bridge and the summary."""

    family: ClassVar[str] = "dropout"
    quiet: ClassVar[bool] = True

    type: Literal["dropout", "dropout1d", "dropout2d", "dropout3d"]
    p: Annotated[float, Field(ge=0, le=1)] = 0.5

    def evaluate(self, x: Shape) -> Evaluation:
        """No work, no new memory."""
        return Evaluation(x, stores=False, summary=f"p={self.p:g}")

    def keeps(self) -> Keeps:
        """Training dropout makes a new output and keeps its mask (torch's CPU kernel: a float mask)."""
        return Keeps(saves=("copy",), train_output=True)


@register
class Identity(Layer):
    """A named pass-through (useful as a placeholder or a tap point)."""

    family: ClassVar[str] = "identity"
    quiet: ClassVar[bool] = True

    type: Literal["identity"]

    def evaluate(self, x: Shape) -> Evaluation:
        """Unchanged."""
        return Evaluation(x, stores=False)

    def keeps(self) -> Keeps:
        """Nothing."""
        return Keeps(saves=(), grad="view")


@register
class Crop(Layer):
    """Centre crop to ``size``, or to the spatial size of the layer named by ``to`` (U-Net's skip connections).

    Explicit amounts use ``crop: {before: [...], after: [...]}``. A crop is a view (no new memory); its receptive
    field keeps the size and jump and moves the centre by the amount cut before.
    """

    family: ClassVar[str] = "reshape"

    type: Literal["crop", "center_crop"]
    size: PosInt | Annotated[list[PosInt], Field(min_length=1, max_length=3)] | None = None
    to: str | None = None
    crop: PadSides | None = None

    links: ClassVar[tuple[str, ...]] = ("to",)

    def evaluate(self, x: Shape) -> Evaluation:
        """Crop to ``size`` or by explicit amounts."""
        return self._crop(x, None)

    def evaluate_linked(self, x: Shape, linked: dict[str, Linked]) -> Evaluation:
        """Crop to the linked layer's spatial size."""
        return self._crop(x, linked.get("to"))

    def _crop(self, x: Shape, target: Linked | None) -> Evaluation:
        n = self.check_dims(x, min_spatial=1)
        given = sum(v is not None for v in (self.size, self.to, self.crop))
        if given != 1:
            raise ShapeError("give exactly one of size, to (a layer name) and crop (explicit amounts)")
        sizes = x[1:]
        if self.crop is not None:
            cuts = tuple(zip(per_dim(self.crop.before, n, "crop before"), per_dim(self.crop.after, n, "crop after"),
                             strict=True))
        else:
            if target is not None:
                if len(target.output_shape) != len(x):
                    raise ShapeError(f"cannot crop {fmt_shape(x)} to the rank of '{target.name}' "
                                     f"{fmt_shape(target.output_shape)}")
                want = target.output_shape[1:]
            else:
                want = per_dim(self.size or 1, n, "size")
            cuts = tuple(((w - t) // 2, w - t - (w - t) // 2) for w, t in zip(sizes, want, strict=True))
        out = tuple(w - a - b for w, (a, b) in zip(sizes, cuts, strict=True))
        if any(o < 1 for o in out) or any(a < 0 or b < 0 for a, b in cuts):
            raise ShapeError(f"cannot crop {fmt_shape(x)} to {'x'.join(map(str, out))}: crops must shrink the input")
        rf = tuple(Window(1, 1, -a, -a) for a, _ in cuts)
        label = f"→{'x'.join(map(str, out))}" + (f" (as {target.name})" if target else "")
        return Evaluation((x[0], *out), rf=rf, stores=False, summary=label)

    def keeps(self) -> Keeps:
        """A slice: nothing kept; slice_backward makes a zero-filled input gradient."""
        return Keeps(saves=())


@register
class Pad(Layer):
    """Explicit padding (``torch.nn.functional.pad``): every padding form of convolutions; a new tensor. A list of one
    [before, after] pair per non-batch dim pads the channels too, as ``F.pad`` on a channels-last (H, W, C) tensor
    does (Swin pads its windows so); receptive fields are then not tracked."""

    family: ClassVar[str] = "reshape"

    type: Literal["pad", "zero_pad", "reflection_pad", "replication_pad"]
    padding: Padding
    mode: Literal["constant", "reflect", "replicate", "circular"] = "constant"
    value: float = 0.0

    def evaluate(self, x: Shape) -> Evaluation:
        """Sizes grow by the padding; reflect needs padding smaller than the input (torch's rule)."""
        every = isinstance(self.padding, list) and len(self.padding) == len(x) and \
            all(isinstance(p, list) for p in self.padding)  # channels last: F.pad over (H, W, C), one pair per dim
        n = len(x) if every else self.check_dims(x, min_spatial=1)
        if self.padding in ("same", "same_lower"):
            raise ShapeError("pad needs explicit amounts ('same' depends on a kernel)")
        sizes = x if every else x[1:]
        pads = resolve_padding(self.padding, sizes, (1,) * n, (1,) * n)
        mode = {"reflection_pad": "reflect", "replication_pad": "replicate"}.get(self.type, self.mode)
        if mode == "reflect" and any(max(p) >= w for p, w in zip(pads, sizes, strict=True)):
            raise ShapeError(f"reflect padding must be smaller than the input size {fmt_shape(x)}")
        if mode == "circular" and any(max(p) > w for p, w in zip(pads, sizes, strict=True)):
            raise ShapeError(
                f"circular padding may not wrap around more than once: at most the input size {fmt_shape(x)}"
            )
        out = tuple(w + a + b for w, (a, b) in zip(sizes, pads, strict=True))
        if every:  # positions are not channels-first here: the fields are not tracked
            return Evaluation(out, rf=GLOBAL, summary=f"{fmt_pads(pads)} {mode}")
        rf = tuple(Window(1, 1, a, a) for a, _ in pads)
        return Evaluation((x[0], *out), rf=rf, summary=f"{fmt_pads(pads)} {mode}")

    def keeps(self) -> Keeps:
        """Padding keeps nothing; its backward pads the gradient by the negated amounts (a new tensor)."""
        return Keeps(saves=())


@register
class ChannelShuffle(Layer):
    """ShuffleNet's channel shuffle: a permutation of channels across ``groups``; shape unchanged, one copy."""

    family: ClassVar[str] = "reshape"

    type: Literal["channel_shuffle"]
    groups: PosInt

    def evaluate(self, x: Shape) -> Evaluation:
        """Channels must split evenly into groups."""
        if not x or x[0] % self.groups:
            raise ShapeError(f"channels of {fmt_shape(x)} are not divisible by groups={self.groups}")
        return Evaluation(x, summary=f"g{self.groups}")

    def keeps(self) -> Keeps:
        """A permuted copy: nothing kept."""
        return Keeps(saves=())


@register
class StochasticDepth(Layer):
    """Stochastic depth / drop path (Huang et al. 2016; torchvision's ``StochasticDepth``, timm's ``DropPath``):
    drops a residual branch per sample (``row``) or per batch in training; the identity at inference."""

    family: ClassVar[str] = "dropout"
    quiet: ClassVar[bool] = True

    type: Literal["stochastic_depth", "drop_path"]
    p: Annotated[float, Field(ge=0, le=1)] = 0.0
    mode: Literal["row", "batch"] = "row"

    def evaluate(self, x: Shape) -> Evaluation:
        """No work, no new memory at inference."""
        return Evaluation(x, stores=False, summary=f"p={self.p:g} {self.mode}")

    def keeps(self) -> Keeps:
        """In training x · mask / (1 − p) saves only the mask, one value per sample (``small``), and makes a new
        output; at p = 0 it is the identity (nothing saved, the gradient passes through)."""
        if self.p == 0.0:
            return Keeps(saves=(), grad="view")
        return Keeps(saves=("small",), train_output=True)


def _axis(dim: int, x: Shape) -> int:
    """A torch dim (batch = dim 0, negative from the end) as an index into the non-batch shape ``x``."""
    rank = len(x) + 1
    if not -rank <= dim < rank or dim % rank == 0:
        raise ShapeError(f"dim={dim} is not a non-batch dim of an input of rank {rank} (batch included)")
    return dim % rank - 1


def split_sizes(size: int, split_size: int | list[int] | None, chunks: int | None) -> list[int]:
    """The pieces' sizes along the split dim, as ``torch.split`` (a size, or sections) and ``torch.chunk`` make them.

    ``torch.chunk(n)`` takes pieces of ⌈size/n⌉ and may return fewer than n; ``torch.split(k)`` ends with a shorter
    piece when k does not divide the size.
    """
    if (split_size is None) == (chunks is None):
        raise ShapeError("give exactly one of split_size (a size or a list of sections) and chunks")
    if isinstance(split_size, list):
        if sum(split_size) != size:
            raise ShapeError(f"sections {split_size} add up to {sum(split_size)}, not the dim's size {size}")
        return list(split_size)
    step = split_size if split_size is not None else ceildiv(size, chunks or 1)
    return [min(step, size - start) for start in range(0, size, step)]


@register
class Split(Layer):
    """``torch.split`` / ``torch.chunk`` along ``dim`` (torch-indexed, default 1: the channels).

    The node itself passes its input on (the split point); each piece is addressable as ``name.k`` in ``inputs:``
    (``inputs: [split1.0]``), which adds a node ``split1.0`` of the same layer with ``index: k``. Pieces are views:
    no new memory, no FLOPs. A piece cut along a spatial dim moves the receptive field's centre as a crop does.
    """

    family: ClassVar[str] = "reshape"
    quiet: ClassVar[bool] = True

    type: Literal["split", "chunk"]
    split_size: PosInt | Annotated[list[PosInt], Field(min_length=1)] | None = None
    chunks: PosInt | None = None
    dim: int = 1
    #: Which piece this node is; None for the split point itself.
    index: NonNegInt | None = None

    def pieces(self, x: Shape) -> list[int]:
        """Sizes of the pieces along ``dim``."""
        return split_sizes(x[_axis(self.dim, x)], self.split_size, self.chunks)

    def evaluate(self, x: Shape) -> Evaluation:
        """The whole input (a split point) or piece ``index``."""
        axis = _axis(self.dim, x)
        sizes = self.pieces(x)
        if self.index is None:
            return Evaluation(x, stores=False, summary="|".join(map(str, sizes)))
        if self.index >= len(sizes):
            raise ShapeError(f"piece {self.index} does not exist: {fmt_shape(x)} splits into {len(sizes)} pieces "
                             f"({'|'.join(map(str, sizes))}) along dim {self.dim}")
        shape = list(x)
        shape[axis] = sizes[self.index]
        rf = None
        if axis > 0:  # a spatial piece starts at an offset, as a crop
            start = sum(sizes[: self.index])
            rf = tuple(Window(1, 1, -start if d == axis - 1 else 0, -start if d == axis - 1 else 0)
                       for d in range(len(x) - 1))
        return Evaluation(tuple(shape), rf=rf, stores=False, summary=f"piece {self.index} of {len(sizes)}")

    def keeps(self) -> Keeps:
        """split keeps only sizes; a piece's gradient is a new input-sized tensor (zeros around it), the split
        point's is the output gradient itself."""
        return Keeps(saves=(), grad="view" if self.index is None else "new")


@register
class Permute(Layer):
    """``x.permute(dims)`` (torch-indexed, the batch stays dim 0): a view, e.g. ConvNeXt's channels-last section.

    Receptive fields belong to positions, and a permute moves none. A permute that rotates the non-batch dims (channels
    last, C×H×W → H×W×C, and back) passes the fields through unchanged, and the RF column keeps listing them in
    channels-first order (H, W); any other order (swapping H and W, say) stops tracking them (shown as —). Inside a
    channels-last section only position-wise layers keep the field: a linear layer there mixes the last dim, which
    cnncalc's channels-first rule takes as spatial, so after it the field reads as global.
    """

    family: ClassVar[str] = "reshape"
    quiet: ClassVar[bool] = True

    type: Literal["permute"]
    dims: Annotated[list[int], Field(min_length=2)]

    def evaluate(self, x: Shape) -> Evaluation:
        """Dims reordered; the batch must stay first."""
        rank = len(x) + 1
        order = [d % rank if -rank <= d < rank else -1 for d in self.dims]
        if sorted(order) != list(range(rank)):
            raise ShapeError(f"dims={self.dims} is not a permutation of the {rank} dims of {fmt_shape(x)} "
                             "(batch included, as torch)")
        if order[0] != 0:
            raise ShapeError(f"dims={self.dims} moves the batch dim; cnncalc keeps it first")
        full = (1, *x)
        shape = tuple(full[d] for d in order[1:])
        dims = list(range(1, rank))
        rotation = any(order[1:] == dims[k:] + dims[:k] for k in range(len(dims)))
        rf: RFStep = None if rotation else GLOBAL
        return Evaluation(shape, rf=rf, stores=False, summary=",".join(map(str, self.dims)))

    def keeps(self) -> Keeps:
        """permute keeps only the dims; its input gradient is a permuted view of the output gradient."""
        return Keeps(saves=(), grad="view")


@register
class Reshape(Layer):
    """``x.view(N, *shape)`` / ``x.reshape``: any shape with the same number of values (one ``-1`` is inferred); a view.

    A reshape that only merges trailing dims is a ``flatten``; this is the general case (the ``view → transpose →
    view`` of a channel shuffle, heads of an attention block). Receptive fields are not tracked through a reshape
    that changes the shape.
    """

    family: ClassVar[str] = "reshape"
    quiet: ClassVar[bool] = True

    type: Literal["reshape", "view"]
    shape: Annotated[list[int], Field(min_length=1)]

    def evaluate(self, x: Shape) -> Evaluation:
        """The batch stays; the other values are laid out in ``shape``."""
        total = prod(x)
        known = prod(v for v in self.shape if v != -1)
        if self.shape.count(-1) > 1 or any(v < 1 and v != -1 for v in self.shape):
            raise ShapeError(f"shape {self.shape} may hold positive sizes and one -1")
        if -1 in self.shape:
            if known == 0 or total % known:
                raise ShapeError(f"cannot view {fmt_shape(x)} ({total} values) as {self.shape}")
            out = tuple(total // known if v == -1 else v for v in self.shape)
        else:
            out = tuple(self.shape)
        if prod(out) != total:
            raise ShapeError(f"cannot view {fmt_shape(x)} ({total} values) as {fmt_shape(out)} ({prod(out)} values)")
        return Evaluation(out, rf=None if out == x else GLOBAL, stores=False, summary="→" + fmt_shape(out))

    def keeps(self) -> Keeps:
        """reshape (a view) keeps only the sizes; its input gradient is a view of the output gradient."""
        return Keeps(saves=(), grad="view")
