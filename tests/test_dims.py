"""The shared sliding-window arithmetic (cnncalc/dims.py): worked cases from their sources, then properties.

Every expected number below is worked by hand in its id or comment, or quoted from the source it names; none
comes from cnncalc. The property tests compare the closed-form rule with a brute-force count of window positions.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import ceil

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from cnncalc.engine.dims import (
    ceildiv,
    effective_kernel,
    floordiv,
    misfit,
    per_dim,
    resolve_padding,
    slide,
    window_out,
)
from cnncalc.errors import ShapeError

# --------------------------------------------------------------------------------------------------------------
# Worked cases. Columns: input size W, padding (before, after), effective kernel K, stride S, expected output.


@pytest.mark.parametrize(
    ("size", "pad", "k", "stride", "expected"),
    [
        # cs231n "A closer look at spatial dimensions" (seeds/004, ~line 660): (N − F)/stride + 1 with N=7, F=3.
        pytest.param(7, (0, 0), 3, 1, 5, id="cs231n-7x7-f3-s1:(7-3)/1+1=5"),
        pytest.param(7, (0, 0), 3, 2, 3, id="cs231n-7x7-f3-s2:(7-3)/2+1=3"),
        # stride 3 "doesn't fit": (7−3)/3 + 1 = 2.33; PyTorch floors it to 2 (the last pixel is never read).
        pytest.param(7, (0, 0), 3, 3, 2, id="cs231n-7x7-f3-s3:floor(4/3)+1=2"),
        # cs231n: "7x7 input, 3x3 filter, stride 1, pad with 1 pixel border => 7x7 output!"
        pytest.param(7, (1, 1), 3, 1, 7, id="cs231n-7x7-f3-s1-p1:(7+2-3)/1+1=7"),
        # cs231n: "32x32 input convolved repeatedly with 5x5 filters shrinks volumes (32 -> 28 -> 24)".
        pytest.param(32, (0, 0), 5, 1, 28, id="cs231n-32-f5:(32-5)/1+1=28"),
        pytest.param(28, (0, 0), 5, 1, 24, id="cs231n-28-f5:(28-5)/1+1=24"),
        # cs231n "Examples time": 32x32x3, 10 5x5 filters, stride 1, pad 2 → (32+2*2−5)/1+1 = 32.
        pytest.param(32, (2, 2), 5, 1, 32, id="cs231n-32-f5-p2:(32+4-5)/1+1=32"),
        # AlexNet conv1 (seeds/004 ~line 1209, hint "(227−11)/4+1 = 55"; published.md §3).
        pytest.param(227, (0, 0), 11, 4, 55, id="alexnet-conv1:(227-11)/4+1=55"),
        # AlexNet pool1: "3x3 filters applied at stride 2 … (55−3)/2+1 = 27" (seeds/004).
        pytest.param(55, (0, 0), 3, 2, 27, id="alexnet-pool1:(55-3)/2+1=27"),
        # torchvision alexnet conv1: 224 with padding 2 (published.md §3): floor((224+4−11)/4)+1 = 54+1 = 55.
        pytest.param(224, (2, 2), 11, 4, 55, id="torchvision-alexnet-conv1:floor(217/4)+1=55"),
        # The paper's 224 without padding: floor((224−11)/4)+1 = floor(53.25)+1 = 54 (published.md §3: "224 vs 227").
        pytest.param(224, (0, 0), 11, 4, 54, id="alexnet-paper-224:floor(213/4)+1=54"),
        # VGG 2x2/2 max pool halves 224 → 112 (Simonyan & Zisserman, Table 1): (224−2)/2+1 = 112.
        pytest.param(224, (0, 0), 2, 2, 112, id="vgg-pool:(224-2)/2+1=112"),
        # Asymmetric padding: 5 + 0 + 1 − 3 = 3; 3/2 floored = 1; +1 = 2.
        pytest.param(5, (0, 1), 3, 2, 2, id="asymmetric-pad:floor((5+1-3)/2)+1=2"),
        # Kernel equal to the padded input: exactly one window.
        pytest.param(3, (1, 1), 5, 1, 1, id="kernel-equals-padded:(3+2-5)/1+1=1"),
    ],
)
def test_window_out_floor(size: int, pad: tuple[int, int], k: int, stride: int, expected: int) -> None:
    assert window_out(size, pad, k, stride) == expected


@pytest.mark.parametrize(
    ("size", "pad", "k", "stride", "expected"),
    [
        # GoogLeNet Table 1: max pool 3x3/2 takes 112x112 to 56x56; torchvision's googlenet writes it as
        # MaxPool2d(3, stride=2, ceil_mode=True). ceil((112−3)/2) + 1 = ceil(54.5) + 1 = 56; last start 110 < 112.
        pytest.param(112, (0, 0), 3, 2, 56, id="googlenet-maxpool1:ceil(109/2)+1=56"),
        # SqueezeNet-style MaxPool2d(3, 2, ceil_mode=True) on 54 (tenstorrent/tt-metal#15039: torch gives 27):
        # ceil(51/2)+1 = 27; last start 52 < 54.
        pytest.param(54, (0, 0), 3, 2, 27, id="tt-metal-15039:ceil(51/2)+1=27"),
        # tenstorrent/tt-metal#15093: MaxPool2d(3, 2, ceil_mode=True) on 80x200 gives 40x100 in torch.
        pytest.param(80, (0, 0), 3, 2, 40, id="tt-metal-15093-H:ceil(77/2)+1=40"),
        pytest.param(200, (0, 0), 3, 2, 100, id="tt-metal-15093-W:ceil(197/2)+1=100"),
        # pytorch/pytorch#45357 (fixed by PR #46558): max_pool2d(x[6x7], 1, stride=2, ceil_mode=True) must be 3x4.
        # H: ceil(5/2)+1 = 4, but the 4th window starts at 6 = W + P_before: it starts in no input, so 3.
        pytest.param(6, (0, 0), 1, 2, 3, id="pytorch-45357-H:4th-window-starts-at-6>=6:3"),
        # W: ceil(6/2)+1 = 4; the 4th window starts at 6 < 7, inside the input: kept.
        pytest.param(7, (0, 0), 1, 2, 4, id="pytorch-45357-W:ceil(6/2)+1=4"),
        # pytorch/xla#2583: MaxPool2d(3, stride=4, ceil_mode=True) on 8x10 must keep the last window inside:
        # H: ceil(5/4)+1 = 3, 3rd start 8 >= 8 → 2; W: ceil(7/4)+1 = 3, 3rd start 8 < 10 → 3.
        pytest.param(8, (0, 0), 3, 4, 2, id="pytorch-xla-2583-H:start-8>=8:2"),
        pytest.param(10, (0, 0), 3, 4, 3, id="pytorch-xla-2583-W:ceil(7/4)+1=3"),
        # pytorch/pytorch#57178: MaxPool2d(1, stride=2, ceil_mode=True) on 32 gives 16, not the naive 17:
        # ceil(31/2)+1 = 17, but the 17th window starts at 32 >= 32.
        pytest.param(32, (0, 0), 1, 2, 16, id="pytorch-57178:start-32>=32:16"),
        # The torch docs' note ("windows that would start in the right padded region are ignored") with padding:
        # W=6, P=1, K=2, S=4: padded 8, ceil((8−2)/4)+1 = 3, but the 3rd start 8 >= 6+1 lies in the right pad → 2.
        pytest.param(6, (1, 1), 2, 4, 2, id="torch-docs-note-6-p1-k2-s4:start-8>=7:2"),
        # W=5, P=1, K=2, S=2: padded 7, ceil(5/2)+1 = 4; the 4th start 6 >= 5+1 → 3 (floor also gives 3).
        pytest.param(5, (1, 1), 2, 2, 3, id="5-p1-k2-s2:start-6>=6:3"),
        # W=6, P=1, K=3, S=2: padded 8, ceil(5/2)+1 = 4; the 4th start 6 < 7 starts in the input → kept: 4.
        pytest.param(6, (1, 1), 3, 2, 4, id="6-p1-k3-s2:start-6<7:4"),
        # A fitting stride: ceil and floor agree, (9−3)/2+1 = 4.
        pytest.param(9, (0, 0), 3, 2, 4, id="fits:(9-3)/2+1=4"),
    ],
)
def test_window_out_ceil_mode(size: int, pad: tuple[int, int], k: int, stride: int, expected: int) -> None:
    assert window_out(size, pad, k, stride, ceil_mode=True) == expected


@pytest.mark.parametrize(
    ("kernel", "dilation", "expected"),
    [
        pytest.param(3, 1, 3, id="undilated:1*(3-1)+1=3"),
        pytest.param(3, 2, 5, id="d2:2*(3-1)+1=5"),
        # Yu & Koltun 2016: a 3x3 kernel with dilation 4 covers 9x9: 4*(3−1)+1 = 9.
        pytest.param(3, 4, 9, id="yu-koltun-d4:4*(3-1)+1=9"),
        pytest.param(1, 7, 1, id="1x1-any-dilation:7*0+1=1"),
    ],
)
def test_effective_kernel(kernel: int, dilation: int, expected: int) -> None:
    assert effective_kernel(kernel, dilation) == expected


def test_cs231n_stride_that_does_not_fit_warns() -> None:
    # 7x7, 3x3, stride 3: (7 − 3) = 4 is not divisible by 3; 4 mod 3 = 1 pixel is never read.
    assert misfit(7, (0, 0), 3, 3) == 1
    sl = slide((7, 7), 3, 3, 0)
    assert sl.out == (2, 2)
    assert sl.warnings == (
        "stride 3 does not fit in dims 0 and 1: (W − F + P) = (7 − 3 + 0) = 4 is not divisible by 3, so the last 1 "
        "input pixel is never used",
    )
    # A remainder that falls in the right padding alone loses no input: ResNet's 7x7/2 p3 on 224 leaves
    # (224 − 7 + 6) mod 2 = 1 pixel, and that pixel is padding.
    assert slide((224,), 7, 2, 3).warnings == ()
    # A 1x1/2 projection on 56 (every stock ResNet's shortcut) skips the last real pixel, (56 − 1) mod 2 = 1, as it
    # skips every other pixel: a window narrower than its stride leaves S − K = 1 pixel between windows by design,
    # so an end remainder no wider than that gap is not worth a warning (and --strict accepts stock ResNets).
    assert slide((56,), 1, 2, 0).warnings == ()
    # Beyond the gap it is: 2-wide windows, stride 3, on 10 read 0-1, 3-4, 6-7 (gaps of 1) and leave 8 and 9.
    assert misfit(10, (0, 0), 2, 3) == 2
    assert "the last 2 input pixels are never used" in slide((10,), 2, 3, 0).warnings[0]
    # AlexNet's 227 fits: (227 − 11) = 216 = 4·54.
    assert misfit(227, (0, 0), 11, 4) == 0
    assert slide((227, 227), 11, 4, 0).warnings == ()
    # With ceil_mode the leftover pixel is covered, so there is nothing to warn about.
    assert slide((7,), 3, 3, 0, ceil_mode=True).warnings == ()


def test_slide_per_dim_values() -> None:
    # Inception's 1x7 conv on 17x17 with padding [0, 3]: H (17−1)/1+1 = 17; W (17+6−7)/1+1 = 17.
    sl = slide((17, 17), [1, 7], 1, [0, 3])
    assert sl.out == (17, 17)
    assert sl.pads == ((0, 0), (3, 3))
    # Dilation 2 on a 3-kernel: K_eff 5; (10 − 5)/1 + 1 = 6.
    assert slide((10,), 3, 1, 0, 2).out == (6,)
    assert slide((10,), 3, 1, 0, 2).k_eff == (5,)


@pytest.mark.parametrize(
    ("sizes", "k", "stride", "expected"),
    [
        # TF "SAME": out = ceil(W/S). 224/2 → 112, total pad = (112−1)·2 + 7 − 224 = 5 → (2, 3), odd pixel after.
        pytest.param((224,), 7, 2, ((2, 3),), id="tf-same-224-k7-s2:total=5->(2,3)"),
        # 5/1: total = 4·1 + 3 − 5 = 2 → (1, 1).
        pytest.param((5,), 3, 1, ((1, 1),), id="same-5-k3-s1:total=2->(1,1)"),
        # 6/2: out 3, total = 2·2 + 3 − 6 = 1 → (0, 1).
        pytest.param((6,), 3, 2, ((0, 1),), id="same-6-k3-s2:total=1->(0,1)"),
        # 7/2: out 4, total = 3·2 + 3 − 7 = 2 → (1, 1).
        pytest.param((7,), 3, 2, ((1, 1),), id="same-7-k3-s2:total=2->(1,1)"),
        # 10/5 with K=1: out 2, total = 1·5 + 1 − 10 = −4 → clipped to 0.
        pytest.param((10,), 1, 5, ((0, 0),), id="same-10-k1-s5:total=-4->0"),
    ],
)
def test_same_padding_worked(sizes: tuple[int, ...], k: int, stride: int, expected: tuple[tuple[int, int]]) -> None:
    assert resolve_padding("same", sizes, [k] * len(sizes), [stride] * len(sizes)) == expected


def test_same_lower_puts_the_odd_pixel_before() -> None:
    # As above, 224/2 with K=7: total 5 → SAME_LOWER (3, 2).
    assert resolve_padding("same_lower", (224,), (7,), (2,)) == ((3, 2),)


@pytest.mark.parametrize(
    ("padding", "expected"),
    [
        pytest.param(1, ((1, 1), (1, 1)), id="int"),
        pytest.param([1, 2], ((1, 1), (2, 2)), id="per-dim:[h,w]"),
        pytest.param([3], ((3, 3), (3, 3)), id="one-value-list-broadcasts"),
        # MatConvNet's PAD = [TOP BOTTOM LEFT RIGHT] (vl_nnconv docs): [1 2 3 4] → H (1, 2), W (3, 4).
        pytest.param([1, 2, 3, 4], ((1, 2), (3, 4)), id="matconvnet:[top,bottom,left,right]"),
        pytest.param([[1, 2], [3, 4]], ((1, 2), (3, 4)), id="pairs:[[top,bottom],[left,right]]"),
        pytest.param("valid", ((0, 0), (0, 0)), id="valid"),
    ],
)
def test_resolve_padding_forms(padding: int | list[int] | list[list[int]] | str, expected: object) -> None:
    assert resolve_padding(padding, (9, 9), (3, 3), (1, 1)) == expected


@dataclass
class _Sides:
    """Anything with ``before`` and ``after`` lists (the ``Sides`` protocol; the spec uses PadSides)."""

    before: list[int]
    after: list[int]


def test_resolve_padding_sides_object() -> None:
    # ONNX pads [x1_begin, x2_begin, x1_end, x2_end] = [1, 3, 2, 4] split in halves → H (1, 2), W (3, 4).
    from cnncalc.engine.layers.base import PadSides

    assert resolve_padding(PadSides(before=[1, 3], after=[2, 4]), (9, 9), (3, 3), (1, 1)) == ((1, 2), (3, 4))
    assert resolve_padding(_Sides([1, 3], [2, 4]), (9, 9), (3, 3), (1, 1)) == ((1, 2), (3, 4))


@pytest.mark.parametrize(
    "padding",
    [
        pytest.param([1, 2, 3], id="three-values-for-two-dims"),
        pytest.param([[1, 2]], id="one-pair-for-two-dims"),
        pytest.param([[1, 2], [3, 4], [5, 6]], id="three-pairs-for-two-dims"),
    ],
)
def test_resolve_padding_wrong_length(padding: list[int] | list[list[int]]) -> None:
    with pytest.raises(ShapeError):
        resolve_padding(padding, (9, 9), (3, 3), (1, 1))


def test_per_dim() -> None:
    assert per_dim(3, 2, "kernel_size") == (3, 3)
    assert per_dim([3], 3, "kernel_size") == (3, 3, 3)
    assert per_dim([1, 7], 2, "kernel_size") == (1, 7)
    with pytest.raises(ShapeError, match=r"kernel_size \[3, 3, 3\] has 3 values for 2 spatial dims"):
        per_dim([3, 3, 3], 2, "kernel_size")
    with pytest.raises(ShapeError, match=r"for 1 spatial dim$"):
        per_dim([3, 3], 1, "stride")


@pytest.mark.parametrize(
    ("size", "pad", "k"),
    [
        pytest.param(5, (0, 0), 7, id="7>5"),
        pytest.param(5, (1, 0), 7, id="7>5+1"),
        # AlexNet's 11x11 conv on a 6x6 map (pool5's output): 11 > 6.
        pytest.param(6, (0, 0), 11, id="11>6"),
    ],
)
def test_kernel_larger_than_padded_input(size: int, pad: tuple[int, int], k: int) -> None:
    with pytest.raises(ShapeError, match=f"kernel {k} is larger than the padded input {size + sum(pad)}"):
        window_out(size, pad, k, 1)


# --------------------------------------------------------------------------------------------------------------
# Properties.


def brute_force_windows(size: int, pad: tuple[int, int], k_eff: int, stride: int, ceil_mode: bool) -> int:
    """Count window positions by walking starts 0, S, 2S, … over the padded input.

    Floor mode keeps the windows that lie wholly inside the padded input. Ceil mode also keeps the window after
    the last full one when that one left padded pixels unread, but (PyTorch's note on MaxPool2d) only if it
    starts inside the input or the left padding.
    """
    padded = size + pad[0] + pad[1]
    count = 0
    start = 0
    while start + k_eff <= padded:
        count += 1
        start += stride
    last_end = start - stride + k_eff  # one past the last pixel of the last full window
    if ceil_mode and last_end < padded and start < size + pad[0]:
        count += 1
    return count


sizes = st.integers(1, 64)
kernels = st.integers(1, 9)
strides = st.integers(1, 7)
dilations = st.integers(1, 4)
pad_amounts = st.integers(0, 6)


@given(size=sizes, before=pad_amounts, after=pad_amounts, kernel=kernels, dilation=dilations, stride=strides,
       ceil_mode=st.booleans())
def test_window_out_equals_brute_force(
    size: int, before: int, after: int, kernel: int, dilation: int, stride: int, ceil_mode: bool
) -> None:
    k_eff = dilation * (kernel - 1) + 1
    assume(k_eff <= size + before + after)
    if ceil_mode:
        # ceil_mode exists only on pooling, whose padding is at most half the window (torch checks it too).
        # Outside that domain a *full* window can start in the right padding, and torch's one-window correction
        # is not a rule about those.
        assume(max(before, after) <= k_eff // 2)
    expected = brute_force_windows(size, (before, after), k_eff, stride, ceil_mode)
    assert window_out(size, (before, after), k_eff, stride, ceil_mode=ceil_mode) == expected


@given(size=sizes, before=pad_amounts, after=pad_amounts, kernel=kernels, stride=strides)
def test_ceil_mode_adds_at_most_one_window(size: int, before: int, after: int, kernel: int, stride: int) -> None:
    assume(kernel <= size + before + after)
    assume(max(before, after) <= kernel // 2)  # pooling's domain, the only user of ceil_mode
    floor_out = window_out(size, (before, after), kernel, stride)
    ceil_out = window_out(size, (before, after), kernel, stride, ceil_mode=True)
    assert ceil_out - floor_out in (0, 1)
    # The extra window exists only when the stride does not fit.
    if misfit(size, (before, after), kernel, stride) == 0:
        assert ceil_out == floor_out


@given(size=sizes, kernel=kernels, dilation=dilations, stride=strides, same=st.sampled_from(["same", "same_lower"]))
def test_same_gives_ceil_of_size_over_stride(size: int, kernel: int, dilation: int, stride: int, same: str) -> None:
    k_eff = dilation * (kernel - 1) + 1
    sl = slide((size,), kernel, stride, same, dilation)
    assert sl.out == (ceil(size / stride),)
    ((before, after),) = sl.pads
    assert before >= 0
    assert after >= 0
    assert abs(before - after) <= 1
    # SAME_UPPER puts the odd pixel after, SAME_LOWER before.
    assert before <= after if same == "same" else before >= after
    # The total is the least padding that gives ceil(W/S) windows: (out − 1)·S + K_eff − W, clipped at 0.
    assert before + after == max((ceil(size / stride) - 1) * stride + k_eff - size, 0)


@given(dims=st.lists(st.tuples(sizes, kernels, strides), min_size=1, max_size=3))
def test_valid_is_zero_padding(dims: list[tuple[int, int, int]]) -> None:
    ws, ks, ss = zip(*dims, strict=True)
    assert resolve_padding("valid", ws, ks, ss) == ((0, 0),) * len(dims)
    assert resolve_padding("valid", ws, ks, ss) == resolve_padding(0, ws, ks, ss)


@given(pairs=st.lists(st.tuples(pad_amounts, pad_amounts), min_size=1, max_size=3))
def test_padding_forms_agree(pairs: list[tuple[int, int]]) -> None:
    n = len(pairs)
    ws, ks, ss = (9,) * n, (3,) * n, (1,) * n
    expected = tuple(pairs)
    flat = [p for pair in pairs for p in pair]  # MatConvNet order: before, after of dim 0, then dim 1, …
    nested = [list(pair) for pair in pairs]
    sides = _Sides([b for b, _ in pairs], [a for _, a in pairs])
    assert resolve_padding(nested, ws, ks, ss) == expected
    assert resolve_padding(sides, ws, ks, ss) == expected
    # A flat list of 2·n values is per side (for n = 1, the [before, after] pair itself).
    assert resolve_padding(flat, ws, ks, ss) == expected


@given(p=pad_amounts, n=st.integers(1, 3))
def test_symmetric_padding_forms_agree(p: int, n: int) -> None:
    ws, ks, ss = (9,) * n, (3,) * n, (1,) * n
    expected = ((p, p),) * n
    assert resolve_padding(p, ws, ks, ss) == expected
    assert resolve_padding([p] * n, ws, ks, ss) == expected
    assert resolve_padding([p], ws, ks, ss) == expected
    assert resolve_padding([[p, p]] * n, ws, ks, ss) == expected
    assert resolve_padding(_Sides([p] * n, [p] * n), ws, ks, ss) == expected
    assert resolve_padding(_Sides([p], [p]), ws, ks, ss) == expected


@given(size=sizes, before=pad_amounts, after=pad_amounts, extra=st.integers(1, 20), stride=strides)
def test_kernel_larger_than_padded_input_raises(size: int, before: int, after: int, extra: int, stride: int) -> None:
    with pytest.raises(ShapeError, match="larger than the padded input"):
        window_out(size, (before, after), size + before + after + extra, stride)


@given(size=sizes, before=pad_amounts, extra=st.integers(1, 20), stride=strides)
def test_ceil_mode_lets_a_window_hang_over_the_end(size: int, before: int, extra: int, stride: int) -> None:
    # torch (pooling_output_shape): ⌊(W + P − K + S − 1)/S⌋ + 1, minus one if the last window starts in the right
    # padding; a kernel up to S − 1 larger than the padded input still gives one output (checked against torch in
    # tests/test_torch_properties.py), a larger one none.
    k = size + before + extra
    if extra < stride:
        assert window_out(size, (before, 0), k, stride, ceil_mode=True) == 1
    else:
        with pytest.raises(ShapeError, match="larger than the padded input"):
            window_out(size, (before, 0), k, stride, ceil_mode=True)


@given(a=st.integers(-1000, 1000), b=st.integers(1, 50))
def test_floordiv_and_ceildiv(a: int, b: int) -> None:
    # Against the definitions: q = floor(a/b) is the q with q·b <= a < (q+1)·b; ceil is the mirror.
    q = floordiv(a, b)
    assert q * b <= a < (q + 1) * b
    c = ceildiv(a, b)
    assert (c - 1) * b < a <= c * b
