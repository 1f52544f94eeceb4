"""Property-based agreement with torch: random layer configurations, cnncalc's shapes and counts against torch's.

Each family draws thousands of configurations (1-3 spatial dims, asymmetric sizes, strides, paddings including
'same'/'valid', dilation, groups, ceil_mode, output_padding, scale factors). For each, either both cnncalc and
torch reject it, or both accept it with the same output shape, parameter and buffer counts. torch runs on the
CPU on tiny tensors (the meta device skips some of torch's argument checks, e.g. output_padding < stride).
"""

from __future__ import annotations

import warnings
from math import ceil, prod
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from cnncalc.errors import CnncalcError
from cnncalc.layers import REGISTRY

pytestmark = pytest.mark.torch
EXAMPLES = settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def ours(shape: tuple[int, ...], **fields: Any) -> tuple[tuple[int, ...], int, int] | None:
    """cnncalc's (output shape, params, buffers), or None when it rejects the configuration."""
    try:
        ev = REGISTRY[fields["type"]].model_validate(fields).evaluate(shape)
    except (CnncalcError, ValidationError):
        return None
    return tuple(ev.shape), ev.params, ev.buffers


def theirs(make: Any, shape: tuple[int, ...], run: Any = None) -> tuple[tuple[int, ...], int, int] | None:
    """torch's (output shape, params, buffers) for the module ``make()`` on a small input, or None if it raises."""
    import torch

    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            module = make().eval()
            x = torch.zeros(2, *shape)
            y = run(module, x) if run else module(x)
    except (RuntimeError, ValueError, TypeError, IndexError):
        return None
    if isinstance(y, tuple):
        y = y[0]
    if 0 in y.shape:
        return None  # torch returns an empty tensor; cnncalc calls an output size below 1 an error, on purpose
    params = sum(p.numel() for p in module.parameters())
    buffers = sum(b.numel() for b in module.buffers())
    return tuple(y.shape[1:]), params, buffers


def agree(a: Any, b: Any, config: Any) -> None:
    assert (a is None) == (b is None), f"{config}: cnncalc {a}, torch {b}"
    assert a == b, f"{config}: cnncalc {a}, torch {b}"


@st.composite
def spatial(draw: st.DrawFn, max_size: int = 14) -> tuple[int, ...]:
    n = draw(st.integers(1, 3))
    return tuple(draw(st.lists(st.integers(1, max_size), min_size=n, max_size=n)))


@EXAMPLES
@given(data=st.data())
def test_conv(data: st.DataObject) -> None:
    from torch import nn
    from torch.nn import functional

    sizes = data.draw(spatial())
    n = len(sizes)
    groups = data.draw(st.integers(1, 3))
    c_in = groups * data.draw(st.integers(1, 3))
    c_out = groups * data.draw(st.integers(1, 3))
    kernel = data.draw(st.lists(st.integers(1, 5), min_size=n, max_size=n))
    stride = data.draw(st.integers(1, 3))
    dilation = data.draw(st.integers(1, 3))
    padding: Any = data.draw(st.one_of(st.integers(0, 3), st.sampled_from(["same", "valid"]),
                                       st.lists(st.integers(0, 3), min_size=n, max_size=n)))
    bias = data.draw(st.booleans())
    config = {"sizes": sizes, "c_in": c_in, "c_out": c_out, "k": kernel, "s": stride, "d": dilation, "p": padding,
              "g": groups}
    shape = (c_in, *sizes)
    a = ours(shape, type="conv", out_channels=c_out, kernel_size=kernel, stride=stride, padding=padding,
             dilation=dilation, groups=groups, bias=bias)
    cls = getattr(nn, f"Conv{n}d")
    if padding == "same":
        # TensorFlow/ONNX SAME_UPPER for any stride (torch's own 'same' allows stride 1 only): explicit amounts.
        pads: list[int] = []
        for w, k in reversed(list(zip(sizes, kernel, strict=True))):
            total = max((ceil(w / stride) - 1) * stride + dilation * (k - 1) + 1 - w, 0)
            pads += [total // 2, total - total // 2]
        b = theirs(lambda: cls(c_in, c_out, kernel, stride, 0, dilation, groups, bias), shape,
                   lambda m, x: m(functional.pad(x, pads)))
    else:
        b = theirs(lambda: cls(c_in, c_out, kernel, stride, padding, dilation, groups, bias), shape)
    agree(a, b, config)


@EXAMPLES
@given(data=st.data())
def test_pooling(data: st.DataObject) -> None:
    from torch import nn

    sizes = data.draw(spatial())
    n = len(sizes)
    kind = data.draw(st.sampled_from(["max", "avg"]))
    kernel = data.draw(st.integers(1, 5))
    stride = data.draw(st.integers(1, 4))
    padding = data.draw(st.integers(0, 3))
    dilation = data.draw(st.integers(1, 3)) if kind == "max" else 1
    ceil_mode = data.draw(st.booleans())
    shape = (2, *sizes)
    config = {"kind": kind, "sizes": sizes, "k": kernel, "s": stride, "p": padding, "d": dilation, "ceil": ceil_mode}
    fields: dict[str, Any] = {"type": f"{kind}pool", "kernel_size": kernel, "stride": stride, "padding": padding,
                              "ceil_mode": ceil_mode}
    if kind == "max":
        fields["dilation"] = dilation
        b = theirs(lambda: getattr(nn, f"MaxPool{n}d")(kernel, stride, padding, dilation, ceil_mode=ceil_mode), shape)
    else:
        b = theirs(lambda: getattr(nn, f"AvgPool{n}d")(kernel, stride, padding, ceil_mode=ceil_mode), shape)
    agree(ours(shape, **fields), b, config)


@EXAMPLES
@given(data=st.data())
def test_adaptive_pooling(data: st.DataObject) -> None:
    from torch import nn

    sizes = data.draw(spatial())
    n = len(sizes)
    # None keeps a dim; torch's AdaptiveXPool1d takes an int only, so 1-D draws sizes.
    entry = st.integers(1, 16) if n == 1 else st.one_of(st.none(), st.integers(1, 16))
    out = data.draw(st.lists(entry, min_size=n, max_size=n))
    kind = data.draw(st.sampled_from(["Avg", "Max"]))
    shape = (3, *sizes)
    a = ours(shape, type=f"adaptive_{kind.lower()}pool", output_size=out)
    b = theirs(lambda: getattr(nn, f"Adaptive{kind}Pool{n}d")(out), shape)
    agree(a, b, {"sizes": sizes, "out": out})


@EXAMPLES
@given(data=st.data())
def test_transposed_conv(data: st.DataObject) -> None:
    from torch import nn

    sizes = data.draw(spatial(max_size=8))
    n = len(sizes)
    groups = data.draw(st.integers(1, 2))
    c_in, c_out = groups * data.draw(st.integers(1, 3)), groups * data.draw(st.integers(1, 3))
    kernel = data.draw(st.integers(1, 5))
    stride = data.draw(st.integers(1, 3))
    dilation = data.draw(st.integers(1, 2))
    padding = data.draw(st.integers(0, 3))
    output_padding = data.draw(st.integers(0, 3))
    shape = (c_in, *sizes)
    config = {"sizes": sizes, "k": kernel, "s": stride, "d": dilation, "p": padding, "op": output_padding, "g": groups}
    a = ours(shape, type="conv_transpose", out_channels=c_out, kernel_size=kernel, stride=stride, padding=padding,
             output_padding=output_padding, dilation=dilation, groups=groups)
    b = theirs(lambda: getattr(nn, f"ConvTranspose{n}d")(c_in, c_out, kernel, stride, padding, output_padding,
                                                          groups, True, dilation), shape)
    agree(a, b, config)


@EXAMPLES
@given(data=st.data())
def test_upsampling(data: st.DataObject) -> None:
    from torch import nn

    sizes = data.draw(spatial(max_size=8))
    n = len(sizes)
    mode = data.draw(st.sampled_from(["nearest", {1: "linear", 2: "bilinear", 3: "trilinear"}[n], "bicubic"]))
    by_size = data.draw(st.booleans())
    size = data.draw(st.lists(st.integers(1, 20), min_size=n, max_size=n)) if by_size else None
    scale = None if by_size else data.draw(st.integers(1, 4))
    shape = (2, *sizes)
    a = ours(shape, type="upsample", mode=mode, size=size, scale_factor=scale)
    b = theirs(lambda: nn.Upsample(size=size, scale_factor=scale, mode=mode), shape)
    agree(a, b, {"sizes": sizes, "mode": mode, "size": size, "scale": scale})


@EXAMPLES
@given(c=st.integers(1, 40), h=st.integers(1, 12), w=st.integers(1, 12), r=st.integers(1, 4),
       shuffle=st.booleans())
def test_pixel_shuffle(c: int, h: int, w: int, r: int, shuffle: bool) -> None:
    from torch import nn

    shape = (c, h, w)
    if shuffle:
        agree(ours(shape, type="pixel_shuffle", upscale_factor=r), theirs(lambda: nn.PixelShuffle(r), shape), shape)
    else:
        agree(ours(shape, type="pixel_unshuffle", downscale_factor=r), theirs(lambda: nn.PixelUnshuffle(r), shape),
              shape)


@EXAMPLES
@given(data=st.data())
def test_linear_norm_and_friends(data: st.DataObject) -> None:
    from torch import nn

    rank = data.draw(st.integers(0, 3))
    shape = tuple(data.draw(st.lists(st.integers(1, 6), min_size=rank + 1, max_size=rank + 1)))
    kind = data.draw(st.sampled_from(["linear", "batchnorm", "prelu", "flatten"]))
    if kind == "linear":
        out, bias, flat = data.draw(st.integers(1, 9)), data.draw(st.booleans()), data.draw(st.booleans())
        fan_in = prod(shape) if flat else shape[-1]
        a = ours(shape, type="linear", out_features=out, bias=bias, flatten=flat)
        b = theirs(lambda: nn.Sequential(*([nn.Flatten()] if flat else []), nn.Linear(fan_in, out, bias=bias)), shape)
    elif kind == "batchnorm":
        affine, track = data.draw(st.booleans()), data.draw(st.booleans())
        cls = getattr(nn, f"BatchNorm{max(len(shape) - 1, 1)}d") if len(shape) <= 4 else nn.BatchNorm3d
        a = ours(shape, type=f"batchnorm{max(len(shape) - 1, 1)}d" if len(shape) > 2 else "batchnorm1d",
                 affine=affine, track_running_stats=track)
        b = theirs(lambda: cls(shape[0], affine=affine, track_running_stats=track).eval(), shape)
    elif kind == "prelu":
        per_channel = data.draw(st.booleans())
        num = shape[0] if per_channel else 1
        a = ours(shape, type="prelu", num_parameters=num)
        b = theirs(lambda: nn.PReLU(num), shape)
    else:
        start, end = data.draw(st.integers(-4, 4)), data.draw(st.integers(-4, 4))
        a = ours(shape, type="flatten", start_dim=start, end_dim=end)
        b = theirs(lambda: nn.Flatten(start, end), shape)
        if start % (len(shape) + 1) == 0 and b is not None:
            b = None  # flattening the batch dim into the features: cnncalc refuses it on purpose
    agree(a, b, {"kind": kind, "shape": shape})
