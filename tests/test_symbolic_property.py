"""The symbolic report evaluated at concrete sizes equals the numeric report exactly (issue #12).

Over the whole zoo (3xHxW with a symbolic batch N) and over random chains of convolutions, poolings (ceil mode
included) and transposed convolutions: where the report's validity conditions hold, the numeric analysis succeeds
and every figure matches; where one fails, the numeric analysis fails too; and the numeric walk warns that a
stride does not fit exactly where an exactness condition fails. 1,300 examples in all.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnncalc.engine.graph import analyze
from cnncalc.engine.symbolic.analysis import SymbolicAnalysis
from cnncalc.errors import SpecError
from cnncalc.spec import zoo
from cnncalc.spec.load import load

FIGURES = ("output_shape", "params", "biases", "trainable_params", "buffers", "macs", "flops", "connections",
           "activations", "activation_bytes")


@cache
def _symbolic(name: str) -> SymbolicAnalysis:
    report = analyze(name, input_shape=(load(name).input[0], "H", "W"), batch="N")
    assert isinstance(report, SymbolicAnalysis)
    return report


def _same(sym: SymbolicAnalysis, spec: Any, env: dict[str, int], shape: tuple[int, ...]) -> None:
    valid = sym.holds(env) is None
    try:
        numeric = analyze(spec, input_shape=shape, batch=env["N"])
    except SpecError:
        assert not valid, f"conditions hold at {env} but the numeric analysis fails"
        return
    assert valid, f"the numeric analysis succeeds at {env} but {sym.holds(env)} fails"
    got = sym.at(env)
    assert got.totals == numeric.totals
    assert len(got.layers) == len(numeric.layers)
    for a, b in zip(got.layers, numeric.layers, strict=True):
        for key in FIGURES:
            assert getattr(a, key) == getattr(b, key), (a.name, key)
    assert len(got.blocks) == len(numeric.blocks)
    for x, y in zip(got.blocks, numeric.blocks, strict=True):
        for key in ("output_shape", "params", "macs", "flops", "activations", "connections"):
            assert getattr(x, key) == getattr(y, key), (x.name, key)
    # Numeric misfit warnings appear where an exactness condition fails; and only there, except that the numeric
    # walk does not warn for ceil-mode windows (which may still skip a pixel when the kernel is below the stride).
    dropped = sym.holds(env, "exact") is not None
    if numeric.warnings or not any(getattr(node.layer, "ceil_mode", False) for node in load(spec).nodes):
        assert bool(numeric.warnings) == dropped, (env, numeric.warnings[:1])


#: Every 2-D zoo network. FCN-ResNet50 and DeepLabV3-ResNet50 upsample their logits to the input's size (and
#: DeepLab's image pooling to the backbone's) with `size_like`, as torchvision's F.interpolate(size=x.shape[-2:]),
#: so they have closed forms too; they were left out while their specs had to write torch's 520x520.
ZOO_2D = [n for n in zoo.names() if len(load(n).input) == 3]


def test_the_segmentation_nets_are_symbolic() -> None:
    # torchvision's FCN returns logits of the input's size at any size: 21xHxW, with no condition on H and W.
    for name in ("fcn_resnet50", "deeplabv3_resnet50"):
        assert name in ZOO_2D
        sym = _symbolic(name)
        assert [str(d) for d in sym.output_shape] == ["21", "H", "W"]
        assert not [c for c in sym.conditions if c.role == "valid"]


#: Issue #12 asks for at least 1,000 examples: the chains run max(1,000, the profile's count), the zoo (whole
#: networks, slower) a quarter of the profile but at least 300; with the 31 zoo inputs, 1,331 in the dev profile.
CHAIN_EXAMPLES = max(1000, settings().max_examples)
ZOO_EXAMPLES = max(300, settings().max_examples // 4)


@settings(max_examples=ZOO_EXAMPLES)
@given(st.sampled_from(ZOO_2D), st.integers(1, 640), st.integers(1, 640), st.integers(1, 4))
def test_zoo_symbolic_report_equals_numeric(name: str, h: int, w: int, n: int) -> None:
    sym = _symbolic(name)
    _same(sym, name, {"H": h, "W": w, "N": n}, (load(name).input[0], h, w))


@pytest.mark.parametrize("name", ZOO_2D)
def test_zoo_at_its_own_input(name: str) -> None:
    """At the spec's own input size every zoo network is valid and equals its numeric report."""
    c, h, w = load(name).input
    _same(_symbolic(name), name, {"H": h, "W": w, "N": 2}, (c, h, w))


@st.composite
def chains(draw: st.DrawFn) -> dict[str, Any]:
    layers: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["conv", "maxpool", "avgpool", "deconv", "same"]))
        k = draw(st.integers(1, 5))
        s = draw(st.integers(1, 4))
        if kind == "conv":
            layers.append({"type": "conv2d", "out_channels": draw(st.integers(1, 8)), "kernel_size": k, "stride": s,
                           "padding": draw(st.integers(0, 3)), "dilation": draw(st.integers(1, 3))})
        elif kind == "same":
            layers.append({"type": "conv2d", "out_channels": 4, "kernel_size": k, "stride": 1, "padding": "same"})
        elif kind == "deconv":
            layers.append({"type": "conv_transpose2d", "out_channels": 4, "kernel_size": k, "stride": s,
                           "padding": draw(st.integers(0, k - 1)), "output_padding": draw(st.integers(0, s - 1))})
        else:
            k = max(k, 2)
            layers.append({"type": f"{kind}2d", "kernel_size": k, "stride": s, "padding": draw(st.integers(0, k // 2)),
                           "ceil_mode": draw(st.booleans())})
    return {"name": "chain", "input": [3, 64, 64], "layers": layers}


@settings(max_examples=CHAIN_EXAMPLES)
@given(chains(), st.integers(1, 200), st.integers(1, 200), st.integers(1, 3))
def test_random_chain_symbolic_report_equals_numeric(spec: dict[str, Any], h: int, w: int, n: int) -> None:
    sym = analyze(spec, input_shape=(3, "H", "W"), batch="N")
    assert isinstance(sym, SymbolicAnalysis)
    _same(sym, spec, {"H": h, "W": w, "N": n}, (3, h, w))
