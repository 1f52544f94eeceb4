"""Output-size arithmetic, written once for every windowed layer (convolution, pooling, and later transposed).

All functions take and return plain ints per spatial dim; the callers loop over dims. Floor/ceil division goes
through :func:`floordiv`/:func:`ceildiv` so the formulas stay free of hidden ``int()`` casts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from cnncalc.engine.trace import settle
from cnncalc.errors import ShapeError


class Sides(Protocol):
    """Explicit per-side padding (ONNX ``pads`` split into its begin and end halves)."""

    @property
    def before(self) -> list[int]:
        """Padding before each spatial dim."""

    @property
    def after(self) -> list[int]:
        """Padding after each spatial dim."""


#: Padding as written in a spec: an int, one int per dim, per-side amounts, or a mode name.
PaddingSpec = int | list[int] | list[list[int]] | Sides | str
Pads = tuple[tuple[int, int], ...]


def floordiv(a: int, b: int) -> int:
    """Floor division (the one place it is spelled); traced values explain themselves as ⌊a / b⌋."""
    return a // b


def ceildiv(a: int, b: int) -> int:
    """Ceiling division without floats; traced values explain themselves as ⌈a / b⌉."""
    if type(a) is not int or type(b) is not int:
        ceil = getattr(a, "ceil_div", None)  # a symbolic size keeps its canonical floor form
        if ceil is not None:
            return ceil(b)  # type: ignore[no-any-return]
        from cnncalc.engine.trace import Traced, ceil_of

        if isinstance(a, Traced) or isinstance(b, Traced):
            return ceil_of(a, b)
    return -((-a) // b)


def symbolic(value: object) -> bool:
    """True for a symbolic size (:mod:`cnncalc.engine.symbolic`), where a formula cannot branch on a comparison."""
    return not isinstance(value, int)


def per_dim(value: int | Sequence[int], n: int, what: str) -> tuple[int, ...]:
    """Broadcast an int to ``n`` dims, or check that a list has one value per spatial dim."""
    if isinstance(value, int):
        return (value,) * n
    vals = tuple(value)
    if len(vals) == 1:
        return vals * n
    if len(vals) != n:
        raise ShapeError(f"{what} {list(vals)} has {len(vals)} values for {n} spatial dim{'s' * (n != 1)}")
    return vals


def effective_kernel(kernel: int, dilation: int) -> int:
    """Extent of a dilated kernel: D·(K−1) + 1 (the kernel itself when undilated, which keeps explanations short)."""
    return kernel if dilation == 1 else dilation * (kernel - 1) + 1


def resolve_padding(
    padding: PaddingSpec, sizes: Sequence[int], k_eff: Sequence[int], strides: Sequence[int]
) -> Pads:
    """Turn any accepted padding form into explicit (before, after) amounts per spatial dim.

    ``same`` is TensorFlow/ONNX SAME_UPPER for any stride (output = ceil(W/S), the odd pixel goes after);
    ``same_lower`` puts it before; a flat list of 2·n ints is MatConvNet's [top bottom left right];
    ``{before: [...], after: [...]}`` is ONNX's ``pads`` split in two.
    """
    n = len(sizes)
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * n
        return tuple(same_split(same_total(size, k, s), padding) for size, k, s in zip(sizes, k_eff, strides,
                                                                                        strict=True))
    if isinstance(padding, int):
        return ((padding, padding),) * n
    if not isinstance(padding, list):
        before = per_dim(padding.before, n, "padding 'before'")
        after = per_dim(padding.after, n, "padding 'after'")
        return tuple(zip(before, after, strict=True))
    if padding and isinstance(padding[0], list):
        pairs = [p for p in padding if isinstance(p, list)]
        if len(pairs) != n or any(len(p) != 2 for p in pairs):
            raise ShapeError(f"padding {padding} needs {n} [before, after] pair{'s' * (n != 1)}")
        return tuple((p[0], p[1]) for p in pairs)
    flat = [p for p in padding if isinstance(p, int)]
    if len(flat) == 2 * n:
        return tuple((flat[2 * i], flat[2 * i + 1]) for i in range(n))
    return tuple((p, p) for p in per_dim(flat, n, "padding"))


def same_total(size: int, k_eff: int, stride: int) -> int:
    """SAME padding in all along one dim: P = max((⌈W / S⌉ − 1)·S + K_eff − W, 0), so that the output is ⌈W / S⌉.

    Traced, it explains itself as that formula and is settled: the window formula then shows its number.
    """
    from cnncalc.engine.trace import Traced, settle

    raw = (ceildiv(size, stride) - 1) * stride + k_eff - size
    if isinstance(raw, Traced):
        return settle(Traced(max(int(raw), 0), f"max({raw.expr}, 0)"))  # type: ignore[no-any-return]
    return max(raw, 0)


def same_split(total: int, mode: str) -> tuple[int, int]:
    """SAME padding split in two: the odd pixel after (``same``, SAME_UPPER) or before (``same_lower``)."""
    from cnncalc.engine.trace import settle

    small = settle(floordiv(total, 2))
    rest = settle(total - small)
    return (small, rest) if mode == "same" else (rest, small)


def window_out(size: int, pad: tuple[int, int], k_eff: int, stride: int, *, ceil_mode: bool = False) -> int:
    """PyTorch's output length of a sliding window: ⌊(W + P_b + P_a − K_eff) / S⌋ + 1.

    With ``ceil_mode`` the division rounds up, but (PyTorch's rule) the last window must start inside the input
    or the left padding, never in the right padding alone; a window may then hang over the end, even when the
    kernel is larger than the padded input (torch gives one output there, as here).
    """
    padded = size + pad[0] + pad[1]
    span = padded - k_eff
    if ceil_mode and symbolic(size):
        # The same rule as one floor (a symbolic size cannot take the branch below): with t = K_eff − P_a clamped
        # to [0, S], ⌈span / S⌉ minus the window that would start in the right padding is ⌊(span + t − 1) / S⌋.
        out = floordiv(span + min(max(k_eff - pad[1], 0), stride) - 1, stride) + 1
    else:
        out = (ceildiv(span, stride) if ceil_mode else floordiv(span, stride)) + 1
        if ceil_mode and (out - 1) * stride >= size + pad[0]:
            out -= 1
    if out < 1:
        raise ShapeError(
            f"kernel {k_eff} is larger than the padded input {padded} (size {size}, padding {pad[0]}+{pad[1]})"
        )
    return out


def misfit(size: int, pad: tuple[int, int], k_eff: int, stride: int) -> int:
    """Input pixels the last window leaves unused: (W + P − K_eff) mod S (0 when the stride 'fits')."""
    return (size + pad[0] + pad[1] - k_eff) % stride


def fmt_dims(values: Sequence[int]) -> str:
    """``3`` for (3, 3), ``1x7`` for (1, 7): the compact form used in layer summaries."""
    return str(values[0]) if len(set(values)) == 1 else "x".join(map(str, values))


def fmt_pads(pads: Pads) -> str:
    """``p1`` for symmetric equal padding, otherwise the per-side list."""
    flat = {p for pair in pads for p in pair}
    if len(flat) <= 1:
        return f"p{next(iter(flat), 0)}"
    if all(a == b for a, b in pads):
        return "p" + "x".join(str(a) for a, _ in pads)
    return "p[" + ",".join(f"{a}/{b}" for a, b in pads) + "]"


@dataclass(frozen=True, slots=True)
class Slide:
    """The outcome of sliding a window over every spatial dim: what conv and pooling layers share."""

    out: tuple[int, ...]
    kernel: tuple[int, ...]
    k_eff: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    pads: Pads
    warnings: tuple[str, ...]


def slide(
    sizes: Sequence[int],
    kernel: int | Sequence[int],
    stride: int | Sequence[int],
    padding: PaddingSpec,
    dilation: int | Sequence[int] = 1,
    *,
    ceil_mode: bool = False,
) -> Slide:
    """Output sizes of a sliding window, with a warning per dim where the stride does not fit (cs231n's case).

    The warning is for input the windows leave at the end although they cover the rest: a 3x3/2 conv on 224
    drops a column; a 1x1/2 conv on 56 skips every other column anyway, so its last one is no surprise.
    """
    n = len(sizes)
    k = per_dim(kernel, n, "kernel_size")
    s = per_dim(stride, n, "stride")
    d = per_dim(dilation, n, "dilation")
    k_eff = tuple(effective_kernel(a, b) for a, b in zip(k, d, strict=True))
    pads = resolve_padding(padding, sizes, k_eff, s)
    out = tuple(settle(window_out(*a, ceil_mode=ceil_mode)) for a in zip(sizes, pads, k_eff, s, strict=True))
    misfits: dict[str, list[str]] = {}
    for i, (size, pad, ke, st) in enumerate(zip(sizes, pads, k_eff, s, strict=True)):
        if symbolic(size):
            continue  # a symbolic size: where pixels drop is a condition of the symbolic report, not a warning
        lost = misfit(size, pad, ke, st) - pad[1]  # what falls in the right padding alone is harmless
        # A window narrower than its stride (ResNet's 1x1/2 shortcut) skips S − K pixels between windows by
        # design; an end remainder no wider than that gap is one more such gap, not a mistake. Only pixels lost
        # beyond the gap (or any, when windows touch or overlap) are worth a warning.
        if lost > max(st - ke, 0) and not ceil_mode:
            text = (
                f"(W − F + P) = ({size} − {ke} + {pad[0] + pad[1]}) = {size - ke + pad[0] + pad[1]} is not divisible "
                f"by {st}, so the last {lost} input pixel{'s' * (lost > 1)} {'are' if lost > 1 else 'is'} never used"
            )
            misfits.setdefault(text, []).append(str(i))
    warnings = tuple(
        f"stride {s[int(dims[0])]} does not fit in dim{'s' * (len(dims) > 1)} {' and '.join(dims)}: {text}"
        for text, dims in misfits.items()
    )
    return Slide(out, k, k_eff, s, d, pads, warnings)


def slide_summary(sl: Slide) -> str:
    """``11x11/4 p0`` (plus ``d2`` for dilation): the hyperparameter summary shown in tables."""
    text = f"{'x'.join(map(str, sl.kernel))}/{fmt_dims(sl.stride)} {fmt_pads(sl.pads)}"
    if any(v != 1 for v in sl.dilation):
        text += f" d{fmt_dims(sl.dilation)}"
    return text


def transposed_out(size: int, pad: tuple[int, int], k_eff: int, stride: int, output_padding: int = 0) -> int:
    """PyTorch's transposed-convolution length: (W − 1)·S − P_b − P_a + K_eff + output_padding."""
    out = (size - 1) * stride - pad[0] - pad[1] + k_eff + output_padding
    if out < 1:
        raise ShapeError(
            f"output size {out} < 1: (W − 1)·S − P + K_eff + output_padding = ({size} − 1)·{stride} − "
            f"{pad[0] + pad[1]} + {k_eff} + {output_padding}"
        )
    return out


def transposed_same_pads(size: int, k_eff: int, stride: int, *, lower: bool = False) -> tuple[tuple[int, int], int]:
    """ONNX ``auto_pad`` for ConvTranspose: output = W·S; returns the pads and any output padding still needed.

    total = S·(W − 1) + K_eff − W·S; SAME_UPPER puts the odd pixel after. A negative total (stride larger than the
    kernel) cannot be taken from padding, so it becomes output padding instead.
    """
    total = stride * (size - 1) + k_eff - size * stride
    if total < 0:
        return (0, 0), -total
    small = floordiv(total, 2)
    return ((total - small, small) if lower else (small, total - small)), 0


def transposed_pads_for(size: int, target: int, k_eff: int, stride: int) -> tuple[tuple[int, int], int]:
    """Padding and output padding that give ``target`` (ONNX ``output_shape``, PyTorch ``output_size``).

    total padding = S·(W − 1) + K_eff − target, split SAME_UPPER; a negative total becomes output padding.
    """
    total = stride * (size - 1) + k_eff - target
    if total < 0:
        return (0, 0), -total
    small = floordiv(total, 2)
    return (small, total - small), 0
