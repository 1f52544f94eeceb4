"""Upsampling (cnncalc/layers/upsample.py): interpolation, bed-of-nails and max unpooling, pixel (un)shuffle.

torch.nn.Upsample: output ⌊W·scale⌋ or ``size``; 'linear' needs 3-D input (1 spatial dim), 'bilinear'/'bicubic' 4-D,
'trilinear' 5-D; align_corners only for the linear and cubic modes. torch.nn.MaxUnpool2d: default size
(W − 1)·S − 2P + K, and an explicit output_size must lie strictly between default − S and default + S
(torch.nn.functional._unpool_output_size). torch.nn.PixelShuffle(r): (C·r², H, W) → (C, rH, rW).
None of these layers has parameters. Expected numbers are worked by hand in the comments.
"""

from __future__ import annotations

from fractions import Fraction
from math import prod
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import cnncalc
from cnncalc.engine.layers import REGISTRY
from cnncalc.engine.layers.base import Evaluation, Window
from cnncalc.engine.report import Report
from cnncalc.errors import CnncalcError, ShapeError, SpecError


def reads(w: Window) -> int:
    """The most input positions one output reads through window ``w`` (over a full period of phases)."""
    return max((o * w.step - w.last) // w.up - (o * w.step - w.first) // w.up + 1 for o in range(2 * w.up))

def layer(x: tuple[int, ...], **fields: Any) -> Evaluation:
    """Evaluate a layer spec on input shape ``x``."""
    return REGISTRY[fields["type"]].model_validate(fields).evaluate(x)


def net(x: tuple[int, ...], *layers: dict[str, Any]) -> Report:
    """Analyse a small spec dict (what a YAML file would hold) through the public API."""
    return cnncalc.analyze({"input": list(x), "layers": list(layers)})


# --------------------------------------------------------------------------------------------------------------
# Interpolation.


@pytest.mark.parametrize(
    ("x", "fields", "shape", "flops"),
    [
        # nearest x2 on 3x5x5 → 3x10x10: copies, no arithmetic.
        pytest.param((3, 5, 5), {"scale_factor": 2}, (3, 10, 10), 0, id="nearest-x2"),
        # nearest x1.5: ⌊5·1.5⌋ = ⌊7.5⌋ = 7 (torch floors).
        pytest.param((3, 5, 5), {"scale_factor": 1.5}, (3, 7, 7), 0, id="nearest-x1.5:floor7.5=7"),
        # a scale per dim: 5·2 = 10, 5·3 = 15.
        pytest.param((3, 5, 5), {"scale_factor": [2, 3]}, (3, 10, 15), 0, id="nearest-x[2,3]"),
        # to a size: 5x5 → 7x9.
        pytest.param((3, 5, 5), {"size": [7, 9]}, (3, 7, 9), 0, id="nearest-size[7,9]"),
        # nearest works on any rank: 1-D 3x5 → 3x10.
        pytest.param((3, 5), {"scale_factor": 2}, (3, 10), 0, id="nearest-1d"),
        # bilinear x2: 300 outputs · (4 multiplies + 3 additions) = 2,100.
        pytest.param((3, 5, 5), {"scale_factor": 2, "mode": "bilinear"}, (3, 10, 10), 2_100, id="bilinear-x2:300*7"),
        # bilinear to 7x9: 3·63 = 189 outputs · 7 = 1,323.
        pytest.param((3, 5, 5), {"size": [7, 9], "mode": "bilinear"}, (3, 7, 9), 1_323, id="bilinear-size:189*7"),
        # bilinear with align_corners (allowed for linear modes): same size and cost.
        pytest.param((3, 5, 5), {"scale_factor": 2, "mode": "bilinear", "align_corners": True}, (3, 10, 10), 2_100,
                     id="bilinear-align_corners"),
        # linear on 1-D: 30 outputs · (2 multiplies + 1 addition) = 90.
        pytest.param((3, 5), {"scale_factor": 2, "mode": "linear"}, (3, 10), 90, id="linear-1d:30*3"),
        # trilinear on 3x2x5x5 → 3x4x10x10 = 1,200 outputs · (8 + 7) = 18,000.
        pytest.param((3, 2, 5, 5), {"scale_factor": 2, "mode": "trilinear"}, (3, 4, 10, 10), 18_000,
                     id="trilinear:1200*15"),
        # bicubic: 300 outputs · (16 multiplies + 15 additions) = 9,300.
        pytest.param((3, 5, 5), {"scale_factor": 2, "mode": "bicubic"}, (3, 10, 10), 9_300, id="bicubic:300*31"),
    ],
)
def test_interpolate(x: tuple[int, ...], fields: dict[str, Any], shape: tuple[int, ...], flops: int) -> None:
    ev = layer(x, type="upsample", **fields)
    assert ev.shape == shape
    assert ev.flops == flops
    assert ev.params == ev.macs == ev.buffers == 0


@pytest.mark.parametrize(
    ("kind", "mode", "flops"),
    [pytest.param("upsample_nearest", "nearest", 0, id="upsample_nearest"),
     pytest.param("upsample_bilinear", "bilinear", 2_100, id="upsample_bilinear")],
)
def test_aliases_imply_the_mode(kind: str, mode: str, flops: int) -> None:
    # torch.nn.UpsamplingNearest2d / UpsamplingBilinear2d: the mode comes with the name.
    ev = layer((3, 5, 5), type=kind, scale_factor=2)
    assert ev.shape == (3, 10, 10)
    assert ev.flops == flops
    assert ev.summary.startswith(mode)


@pytest.mark.parametrize(
    ("x", "fields", "message"),
    [
        # torch: "Got 3D input, but bilinear mode needs 4D input" and the like.
        pytest.param((3, 5), {"mode": "bilinear"}, "mode 'bilinear' interpolates 2 spatial dim(s); the input 3x5 has 1",
                     id="bilinear-on-1d"),
        pytest.param((3, 2, 5, 5), {"mode": "bilinear"}, "mode 'bilinear' interpolates 2 spatial dim(s)",
                     id="bilinear-on-3d"),
        pytest.param((3, 5, 5), {"mode": "linear"}, "mode 'linear' interpolates 1 spatial dim(s)", id="linear-on-2d"),
        pytest.param((3, 5, 5), {"mode": "trilinear"}, "mode 'trilinear' interpolates 3 spatial dim(s)",
                     id="trilinear-on-2d"),
        pytest.param((3, 5), {"mode": "bicubic"}, "mode 'bicubic' interpolates 2 spatial dim(s)", id="bicubic-on-1d"),
        pytest.param((3, 5), {"type": "upsample_bilinear"}, "mode 'bilinear' interpolates 2 spatial dim(s)",
                     id="upsample_bilinear-on-1d"),
        # torch: "align_corners option can only be set with the interpolating modes: linear | bilinear | ..."
        pytest.param((3, 5, 5), {"align_corners": True}, "align_corners only applies to the linear and cubic modes",
                     id="align_corners-with-nearest"),
        pytest.param((3, 5, 5), {"align_corners": False}, "align_corners only applies",
                     id="align_corners=false-nearest"),
        # torch: "only one of size or scale_factor should be defined" / "either size or scale_factor should be defined"
        pytest.param((3, 5, 5), {"size": 4}, "give exactly one of size, scale_factor and size_like",
                     id="size-and-scale"),
        pytest.param((3, 5, 5), {"scale_factor": None}, "give exactly one of size, scale_factor and size_like",
                     id="neither"),
        pytest.param((3, 5, 5), {"scale_factor": 0.1}, "shrinks 3x5x5 below one pixel", id="scale-0.1:floor0.5=0"),
        pytest.param((3, 5, 5), {"scale_factor": [1, 2, 3]}, "has 3 values for 2 spatial dims", id="scale-rank"),
        pytest.param((3, 5, 5), {"scale_factor": None, "size": [4, 4, 4]}, "size [4, 4, 4] has 3 values",
                     id="size-rank"),
    ],
)
def test_interpolate_errors(x: tuple[int, ...], fields: dict[str, Any], message: str) -> None:
    spec: dict[str, Any] = {"type": "upsample", "scale_factor": 2, **fields}
    with pytest.raises(ShapeError) as info:
        layer(x, **spec)
    assert message in str(info.value)


def test_interpolate_receptive_field_steps() -> None:
    # Nearest copies one source pixel; the jump becomes 1/2. Bilinear blends 2 per dim; bicubic 4.
    # The window reads input positions ⌊(o·step − first)/up⌋ … ⌊(o·step − last)/up⌋ (cnncalc.engine.layers.base.Window).
    assert layer((3, 5, 5), type="upsample", scale_factor=2).rf == (Window(1, 2, 0, 0),) * 2
    bilinear = layer((3, 5, 5), type="upsample", scale_factor=2, mode="bilinear").rf
    bicubic = layer((3, 5, 5), type="upsample", scale_factor=2, mode="bicubic").rf
    assert bilinear is not None and bilinear != "global" and bicubic is not None and bicubic != "global"
    assert [(reads(w), Fraction(w.step, w.up)) for w in bilinear] == [(2, Fraction(1, 2))] * 2
    assert [(reads(w), Fraction(w.step, w.up)) for w in bicubic] == [(4, Fraction(1, 2))] * 2


def test_receptive_field_grows_by_whole_pixels_through_nearest_upsampling() -> None:
    # 1x8x8 → nearest x2 → 3x3 conv: each output of the conv sees 3 consecutive upsampled pixels, which copy
    # 2 distinct source pixels (positions o..o+2 come from ⌊o/2⌋..⌊(o+2)/2⌋): field 2 in input pixels, jump 1/2.
    row = net((1, 8, 8), {"type": "upsample", "scale_factor": 2},
              {"type": "conv2d", "name": "c", "out_channels": 1, "kernel_size": 3}).layer("c")
    assert row.receptive_field == (2, 2)
    assert row.jump == (0.5, 0.5)


def test_receptive_field_after_x4_upsampling_is_a_whole_number_of_pixels() -> None:
    row = net((1, 8, 8), {"type": "upsample", "scale_factor": 4},
              {"type": "conv2d", "name": "c", "out_channels": 1, "kernel_size": 3}).layer("c")
    assert row.receptive_field == (2, 2)


# --------------------------------------------------------------------------------------------------------------
# To another node's size: size_like (torchvision's segmentation heads, F.interpolate(x, size=input.shape[-2:])).

#: FCN in small: two stride-2 convs (37x45 → 19x23 → 10x12), logits upsampled to c1's size and then the input's.
FCN_LIKE: dict[str, Any] = {"input": [3, 37, 45], "layers": [
    {"type": "conv2d", "name": "c1", "out_channels": 8, "kernel_size": 3, "stride": 2, "padding": 1},
    {"type": "conv2d", "name": "c2", "out_channels": 5, "kernel_size": 3, "stride": 2, "padding": 2, "dilation": 2},
    {"type": "upsample", "name": "mid", "size_like": "c1"},
    {"type": "upsample", "name": "out", "size_like": "input", "mode": "bilinear", "align_corners": False},
]}


@pytest.mark.parametrize(("h", "w"), [(37, 45), (480, 640), (1, 1), (64, 7)])
def test_size_like_takes_the_named_nodes_spatial_size(h: int, w: int) -> None:
    # c1: ⌊(H + 2 − 3)/2⌋ + 1 = ⌈H/2⌉; the channels stay the upsampled tensor's (5), only H and W are taken.
    report = cnncalc.analyze(FCN_LIKE, input_shape=(3, h, w))
    c1 = ((h + 1) // 2, (w + 1) // 2)
    assert report.layer("mid").output_shape == (5, *c1)
    assert report.layer("out").output_shape == (5, h, w)
    # bilinear: 4 multiplies + 3 additions per output value (the module docstring), 5·H·W outputs.
    assert report.layer("out").flops == 5 * h * w * 7
    assert report.layer("out").summary == f"bilinear →{h}x{w} (as input)"


def test_size_like_under_symbolic_sizes() -> None:
    # The output is the input's H and W exactly: figures are closed forms, valid at every size, and the receptive
    # field (a size-dependent ratio) is no longer tracked after the layer, with a note saying so.
    sym = cnncalc.analyze(FCN_LIKE, input_shape=(3, "H", "W"))
    assert [str(d) for d in sym.layer("out").output_shape] == ["5", "H", "W"]
    assert not sym.conditions
    assert any(note.startswith("out: receptive fields depend on the input size") for note in sym.notes)
    for h, w in ((37, 45), (100, 3)):
        assert sym.at({"H": h, "W": w}).totals == cnncalc.analyze(FCN_LIKE, input_shape=(3, h, w)).totals


def _spec_file(tmp_path: Any, *layers: str) -> str:
    path = tmp_path / "net.yaml"
    path.write_text("input: [3, 16, 16]\nlayers:\n" + "".join(f"  - {x}\n" for x in layers), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(
    ("layers", "message"),
    [
        pytest.param(["{type: conv2d, name: c1, out_channels: 4, kernel_size: 3}",
                      "{type: upsample, name: up, size_like: c11}"],
                     "net.yaml:4: layer 'up' (upsample): size_like names 'c11', which is not an earlier layer "
                     "(did you mean 'c1'?)", id="unknown"),
        pytest.param(["{type: upsample, name: up, size_like: later}", "{type: relu, name: later}"],
                     "net.yaml:3: layer 'up' (upsample): 'later' is not an earlier layer visible here; size_like "
                     "may only name layers defined before it",
                     id="later"),
        pytest.param(["{type: flatten, name: flat}", "{type: upsample, name: up, inputs: [input], size_like: flat}"],
                     "net.yaml:4: layer 'up' (upsample): size_like names 'flat', whose output 768 has 0 spatial "
                     "dim(s); the input 3x16x16 has 2", id="rank"),
        pytest.param(["{type: upsample, name: up, size_like: input, size: 4}"],
                     "net.yaml:3: layer 'up' (upsample): give exactly one of size, scale_factor and size_like",
                     id="both"),
    ],
)
def test_size_like_errors_name_file_line_and_layer(tmp_path: Any, layers: list[str], message: str) -> None:
    with pytest.raises(SpecError) as info:
        cnncalc.analyze(_spec_file(tmp_path, *layers))
    assert message in str(info.value)


class _FCNLike:
    """torchvision's FCN.forward in small, written as model code writes it (a torch.nn.Module, built on demand)."""

    @staticmethod
    def build() -> Any:
        import torch
        from torch import nn
        from torch.nn import functional

        class Net(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.c1 = nn.Conv2d(3, 8, 3, stride=2, padding=1)
                self.c2 = nn.Conv2d(8, 5, 3, stride=2, padding=2, dilation=2)

            def forward(self, x: torch.Tensor) -> torch.Tensor:
                input_shape = x.shape[-2:]
                f = self.c1(x)
                y = functional.interpolate(self.c2(f), size=f.size()[2:])
                return functional.interpolate(y, size=input_shape, mode="bilinear", align_corners=False)

        return Net().eval()


@pytest.mark.torch
@pytest.mark.parametrize(("h", "w"), [(37, 45), (480, 640), (33, 50)])
def test_size_like_gives_torchs_shapes(h: int, w: int) -> None:
    import torch
    from torch.nn import functional

    net = _FCNLike.build()
    with torch.no_grad():
        x = torch.zeros(1, 3, h, w)
        f = net.c1(x)
        mid = functional.interpolate(net.c2(f), size=f.shape[-2:])  # forward's first interpolation, step by step
        out = net(x)
    report = cnncalc.analyze(FCN_LIKE, input_shape=(3, h, w))
    assert report.layer("mid").output_shape == tuple(mid.shape[1:])
    assert report.layer("out").output_shape == tuple(out.shape[1:])


@pytest.mark.torch
def test_size_like_through_the_torch_bridge(agrees_with_torch: Any) -> None:
    agrees_with_torch(FCN_LIKE)
    agrees_with_torch({**FCN_LIKE, "input": [3, 480, 640]})


@pytest.mark.torch
def test_the_importer_writes_size_like_for_a_size_from_another_tensor() -> None:
    # F.interpolate(y, size=f.size()[2:]) and size=x.shape[-2:] become size_like: c1 / input, so the imported spec
    # is right at any input size, not just the traced one.
    spec = cnncalc.from_torch(_FCNLike.build(), (3, 37, 45), strict=True)
    ups = [e for e in spec["layers"] if e["type"] == "upsample"]
    assert [(e.get("size_like"), e.get("size")) for e in ups] == [("c1", None), ("input", None)]
    import torch

    with torch.no_grad():
        out = _FCNLike.build()(torch.zeros(1, 3, 480, 640))
    assert cnncalc.analyze(spec, input_shape=(3, 480, 640)).output_shape == tuple(out.shape[1:])


@pytest.mark.torch
def test_the_importer_keeps_other_computed_sizes_as_numbers() -> None:
    # size=(2·H, W + 1) is computed from the shape, but not a tensor's spatial size: the traced numbers are written.
    from torch import nn
    from torch.nn import functional

    class Grow(nn.Module):
        def forward(self, x: Any) -> Any:
            return functional.interpolate(x, size=(x.shape[2] * 2, x.shape[3] + 1))

    spec = cnncalc.from_torch(Grow(), (3, 5, 7), strict=True)
    assert [(e.get("size_like"), e.get("size")) for e in spec["layers"] if e["type"] == "upsample"] == [
        (None, [10, 8])]


# --------------------------------------------------------------------------------------------------------------
# Bed of nails.


@pytest.mark.parametrize(
    ("x", "factor", "shape"),
    [
        # Lecture notes / cs231n 2017 lecture 11: "Bed of Nails", Input: 2 x 2, Output: 4 x 4.
        pytest.param((3, 2, 2), 2, (3, 4, 4), id="cs231n:2x2->4x4"),
        pytest.param((3, 5, 7), [2, 3], (3, 10, 21), id="per-dim[2,3]"),
        pytest.param((3, 4, 4, 4), [1, 2, 2], (3, 4, 8, 8), id="3d:[1,2,2]"),
        pytest.param((3, 6), 4, (3, 24), id="1d:x4"),
    ],
)
def test_bed_of_nails(x: tuple[int, ...], factor: int | list[int], shape: tuple[int, ...]) -> None:
    ev = layer(x, type="unpool", scale_factor=factor)
    assert ev.shape == shape
    assert ev.params == ev.macs == ev.flops == 0
    assert ev.stores  # a new, mostly zero tensor


def test_bed_of_nails_alias_and_default_factor() -> None:
    assert layer((3, 2, 2), type="bed_of_nails").shape == (3, 4, 4)  # default factor 2


def test_bed_of_nails_factor_rank() -> None:
    with pytest.raises(ShapeError, match=r"scale_factor \[2, 2, 2\] has 3 values for 2 spatial dims"):
        layer((3, 4, 4), type="unpool", scale_factor=[2, 2, 2])


# --------------------------------------------------------------------------------------------------------------
# Max unpooling: through a spec, since it needs the max-pool it names.


def pool_then_unpool(x: tuple[int, ...], pool: dict[str, Any], unpool: dict[str, Any]) -> Report:
    return net(x, {"type": "maxpool", "name": "pool", **pool}, {"type": "max_unpool", "name": "unpool",
                                                                "indices": "pool", **unpool})


@pytest.mark.parametrize(
    ("x", "k", "s", "pooled"),
    [
        # MaxPool2d(2) on 8x8 → 4x4; MaxUnpool2d(2) default size (4 − 1)·2 + 2 = 8.
        pytest.param((3, 8, 8), 2, None, (3, 4, 4), id="2x2:8->4->8"),
        # On 7x7 the pool floors to 3 (row 7 dropped); the default would be 6, but torch admits output_size 7
        # (4 < 7 < 8): the unpool restores 7x7, as MaxUnpool2d(2)(y, i, output_size=x.size()) does.
        pytest.param((3, 7, 7), 2, None, (3, 3, 3), id="2x2:7->3->7"),
        # MaxPool2d(3, stride=2) on 8x8 → 3x3; default (3 − 1)·2 + 3 = 7, torch admits 6..8: 8.
        pytest.param((3, 8, 8), 3, 2, (3, 3, 3), id="3x3/2:8->3->8"),
        # Non-square input: 4x10 → 2x5 → 4x10.
        pytest.param((3, 4, 10), 2, None, (3, 2, 5), id="2x2:4x10"),
    ],
)
def test_max_unpool_restores_the_pool_input(x: tuple[int, ...], k: int, s: int | None, pooled: tuple[int, ...]) -> None:
    stride = {} if s is None else {"stride": s}
    report = pool_then_unpool(x, {"kernel_size": k, **stride}, {"kernel_size": k, **stride})
    assert report.layer("pool").output_shape == pooled
    unpool = report.layer("unpool")
    assert unpool.output_shape == x
    assert unpool.params == unpool.macs == unpool.flops == 0
    assert unpool.jump == (1, 1)  # back to the input's grid


@pytest.mark.parametrize(
    ("x", "kind", "shape"),
    [
        pytest.param((3, 9), "1d", (3, 9), id="1d:9->4->9"),
        pytest.param((3, 4, 8, 9), "3d", (3, 4, 8, 9), id="3d:4x8x9->2x4x4->4x8x9"),
    ],
)
def test_max_unpool_1d_and_3d(x: tuple[int, ...], kind: str, shape: tuple[int, ...]) -> None:
    report = net(x, {"type": f"maxpool{kind}", "name": "pool", "kernel_size": 2},
                 {"type": f"max_unpool{kind}", "name": "unpool", "indices": "pool", "kernel_size": 2})
    assert report.layer("unpool").output_shape == shape


def test_max_unpool_after_layers_that_keep_the_shape() -> None:
    # DeconvNet/SegNet: the decoder's convs sit between the pool and its unpooling; only the shapes must agree.
    report = net((3, 8, 8), {"type": "maxpool2d", "name": "pool", "kernel_size": 2},
                 {"type": "conv2d", "out_channels": 3, "kernel_size": 3, "padding": 1},
                 {"type": "max_unpool2d", "name": "unpool", "indices": "pool", "kernel_size": 2})
    assert report.layer("unpool").output_shape == (3, 8, 8)


@pytest.mark.parametrize(
    ("x", "layers", "message"),
    [
        # MaxPool2d(3) on 9x9 → 3x3, unpooled with kernel 2: default (3 − 1)·2 + 2 = 6 and torch admits only
        # 5..7 (4 < size < 8), so 9 raises 'invalid output_size' in torch too.
        pytest.param((3, 9, 9), [{"type": "maxpool2d", "name": "pool", "kernel_size": 3},
                                 {"type": "max_unpool2d", "indices": "pool", "kernel_size": 2}],
                     "cannot unpool 3 to 9 with kernel 2, stride 2", id="torch-range:3->9-with-k2"),
        # The conv changes the channels: 8x4x4 cannot take pool's 3x4x4 indices.
        pytest.param((3, 8, 8), [{"type": "maxpool2d", "name": "pool", "kernel_size": 2},
                                 {"type": "conv2d", "out_channels": 8, "kernel_size": 1},
                                 {"type": "max_unpool2d", "indices": "pool", "kernel_size": 2}],
                     "its input 8x4x4 differs from the output 3x4x4 of 'pool'", id="input-not-pool-output"),
        pytest.param((3, 8, 8), [{"type": "maxpool2d", "name": "pool", "kernel_size": 2},
                                 {"type": "max_unpool2d", "indices": "pool"}],
                     "give kernel_size (the kernel of 'pool')", id="no-kernel_size"),
        pytest.param((3, 8, 8), [{"type": "max_unpool2d", "indices": "pool", "kernel_size": 2}],
                     "indices names 'pool', which is not an earlier layer", id="unknown-pool"),
    ],
)
def test_max_unpool_errors(x: tuple[int, ...], layers: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(SpecError) as info:
        net(x, *layers)
    assert message in str(info.value)


def test_max_unpool_of_a_ceil_mode_pool() -> None:
    # MaxPool2d(2, ceil_mode=True) on 5x5 → ⌈(5 − 2)/2⌉ + 1 = 3; MaxUnpool2d(2)(y, i, output_size=(5, 5)) is 5x5.
    report = pool_then_unpool((3, 5, 5), {"kernel_size": 2, "ceil_mode": True}, {"kernel_size": 2})
    assert report.layer("unpool").output_shape == (3, 5, 5)


def test_max_unpool_indices_of_the_network_input_is_a_spec_error() -> None:
    with pytest.raises(CnncalcError):
        net((3, 8, 8), {"type": "max_unpool2d", "indices": "input", "kernel_size": 2})


def test_max_unpool_indices_must_name_a_max_pool() -> None:
    with pytest.raises(SpecError):
        net((3, 8, 8), {"type": "avgpool2d", "name": "pool", "kernel_size": 2},
            {"type": "max_unpool2d", "indices": "pool", "kernel_size": 2})


# --------------------------------------------------------------------------------------------------------------
# Pixel shuffle (sub-pixel convolution) and its inverse.


@pytest.mark.parametrize(
    ("x", "r", "shape"),
    [
        # torch docs: PixelShuffle(3) on (1, 9, 4, 4) → (1, 1, 12, 12).
        pytest.param((9, 4, 4), 3, (1, 12, 12), id="torch-docs:9x4x4->1x12x12"),
        # ESPCN, r = 3, C = 1: the last conv's 9 channels at 85x85 → 1x255x255.
        pytest.param((9, 85, 85), 3, (1, 255, 255), id="espcn:r3"),
        # 18 = 2·3² channels → 2 channels at 3x.
        pytest.param((18, 5, 5), 3, (2, 15, 15), id="18/9=2"),
        pytest.param((64, 7, 3), 2, (16, 14, 6), id="r2-non-square"),
    ],
)
def test_pixel_shuffle(x: tuple[int, ...], r: int, shape: tuple[int, ...]) -> None:
    ev = layer(x, type="pixel_shuffle", upscale_factor=r)
    assert ev.shape == shape
    assert ev.params == ev.macs == ev.flops == 0
    assert ev.rf == (Window(1, r, 0, 0),) * 2
    assert layer(x, type="depth_to_space", upscale_factor=r).shape == shape  # TF/ONNX name


@pytest.mark.parametrize(
    ("x", "r", "shape"),
    [
        # torch docs: PixelUnshuffle(3) on (1, 1, 12, 12) → (1, 9, 4, 4).
        pytest.param((1, 12, 12), 3, (9, 4, 4), id="torch-docs:1x12x12->9x4x4"),
        pytest.param((2, 6, 6), 3, (18, 2, 2), id="2x6x6->18x2x2"),
        pytest.param((3, 8, 4), 2, (12, 4, 2), id="non-square"),
    ],
)
def test_pixel_unshuffle(x: tuple[int, ...], r: int, shape: tuple[int, ...]) -> None:
    ev = layer(x, type="pixel_unshuffle", downscale_factor=r)
    assert ev.shape == shape
    assert ev.params == ev.flops == 0
    assert ev.rf == (Window.regular(r, r, 0),) * 2  # each output gathers an r x r block
    assert layer(x, type="space_to_depth", downscale_factor=r).shape == shape


@pytest.mark.parametrize(
    ("x", "fields", "message"),
    [
        # torch: "pixel_shuffle expects its input's 'channel' dimension to be divisible by the square of
        # upscale_factor, but input.size(-3)=8 is not divisible by 9"
        pytest.param((8, 5, 5), {"type": "pixel_shuffle", "upscale_factor": 3},
                     "channels 8 are not divisible by upscale_factor² = 9", id="shuffle:8%9"),
        pytest.param((8, 5), {"type": "pixel_shuffle", "upscale_factor": 2}, "pixel_shuffle works on C×H×W inputs",
                     id="shuffle-on-1d"),
        # torch: "pixel_unshuffle expects height to be divisible by downscale_factor, but input.size(-2)=7 ..."
        pytest.param((2, 6, 7), {"type": "pixel_unshuffle", "downscale_factor": 3},
                     "spatial size 6x7 is not divisible by downscale_factor 3", id="unshuffle:7%3"),
        pytest.param((2, 5, 6), {"type": "space_to_depth", "downscale_factor": 2},
                     "spatial size 5x6 is not divisible by downscale_factor 2", id="space_to_depth:5%2"),
        pytest.param((2, 6, 6, 6), {"type": "pixel_unshuffle", "downscale_factor": 2},
                     "pixel_unshuffle works on C×H×W inputs", id="unshuffle-on-3d"),
    ],
)
def test_pixel_shuffle_errors(x: tuple[int, ...], fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ShapeError) as info:
        layer(x, **fields)
    assert message in str(info.value)


@given(c=st.integers(1, 8), h=st.integers(1, 12), w=st.integers(1, 12), r=st.integers(1, 4))
def test_pixel_shuffle_inverts_unshuffle(c: int, h: int, w: int, r: int) -> None:
    x = (c, h * r, w * r)
    down = layer(x, type="pixel_unshuffle", downscale_factor=r)
    assert down.shape == (c * r * r, h, w)
    assert layer(down.shape, type="pixel_shuffle", upscale_factor=r).shape == x
    assert prod(down.shape) == prod(x)  # a permutation of the values


@given(w=st.integers(1, 50), h=st.integers(1, 50), s=st.integers(1, 5))
def test_integer_scales_multiply_exactly(w: int, h: int, s: int) -> None:
    # Nearest, bilinear and bed of nails agree on W·S for integer scales; only bilinear costs FLOPs.
    for mode in ("nearest", "bilinear"):
        assert layer((2, h, w), type="upsample", scale_factor=s, mode=mode).shape == (2, h * s, w * s)
    assert layer((2, h, w), type="unpool", scale_factor=s).shape == (2, h * s, w * s)
