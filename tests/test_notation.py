"""The one-line notation: published totals, each token form, equivalence with dict specs, and located errors."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import cnncalc
from cnncalc.engine.layers import REGISTRY
from cnncalc.errors import NotationError, SpecError
from cnncalc.model import Network
from cnncalc.spec.format import MAX_LAYERS, build
from cnncalc.spec.notation import describe_grammar, parse, to_spec

SPECS = Path(__file__).resolve().parents[1] / "specs"

# The cs231n-style LeNet. Conv params = (K·K·C_in + 1)·C_out, FC params = (in + 1)·out:
#   conv5-8   3x32x32 → 8x28x28   (5·5·3 + 1)·8   =    608   MACs 8·28·28·75   = 470,400
#   maxpool2          → 8x14x14
#   conv5-16          → 16x10x10  (5·5·8 + 1)·16  =  3,216   MACs 16·10·10·200 = 320,000
#   maxpool2          → 16x5x5 (400 features)
#   fc-120            → 120       (400 + 1)·120   = 48,120   MACs 48,000
#   fc-84             → 84        (120 + 1)·84    = 10,164   MACs 10,080
#   fc-10             → 10        (84 + 1)·10     =    850   MACs    840
#   total params 62,958; MACs 849,320
LENET = "3x32x32: conv5-8 maxpool2 conv5-16 maxpool2 fc-120 fc-84 fc-10"
# VGG16 (configuration D): 138,357,544 params (Simonyan & Zisserman 2014, Table 2: 138M; torchvision's
# num_params) and 15,470,264,320 MACs (torchvision's _ops 15.47 GMACs).
VGG16 = (
    "3x224x224: [conv3-64p1]x2 maxpool2 [conv3-128p1]x2 maxpool2 [conv3-256p1]x3 maxpool2 [conv3-512p1]x3 "
    "maxpool2 [conv3-512p1]x3 maxpool2 fc-4096 fc-4096 fc-1000"
)


def layers(net: Network) -> list[tuple[str, Any]]:
    """What makes two networks the same spec: each node's name and validated layer."""
    return [(node.name, node.layer) for node in net.nodes]


def spec(*entries: Any, shape: str = "3x32x32") -> Network:
    return build({"name": "expression", "input": shape, "layers": list(entries)})


# --- published figures -------------------------------------------------------------------------------------


def test_lenet_exact_figures() -> None:
    report = cnncalc.analyze(LENET)
    assert [row.params for row in report.layers] == [608, 0, 3216, 0, 48120, 10164, 850]
    assert [row.output_shape for row in report.layers] == [
        (8, 28, 28), (8, 14, 14), (16, 10, 10), (16, 5, 5), (120,), (84,), (10,),
    ]
    assert report.totals.params == 62_958
    assert report.totals.macs == 849_320


def test_vgg16_exact_figures() -> None:
    report = cnncalc.analyze(VGG16)
    assert report.totals.params == 138_357_544
    assert report.totals.macs == 15_470_264_320
    assert report.layers[-1].output_shape == (1000,)
    assert len(report.layers) == 13 + 5 + 3


def test_vgg16_with_relu_and_dropout_matches_the_yaml_spec() -> None:
    text = (
        "3x224x224: [conv3-64p1-relu]x2 M [conv3-128p1-relu]x2 M [conv3-256p1-relu]x3 M [conv3-512p1-relu]x3 M "
        "[conv3-512p1-relu]x3 M fc-4096-relu dropout fc-4096-relu dropout fc-1000"
    )
    ours, yaml = cnncalc.analyze(text).totals, cnncalc.analyze(SPECS / "vgg16.yaml").totals
    assert (ours.params, ours.macs, ours.flops) == (yaml.params, yaml.macs, yaml.flops)


# --- token forms -------------------------------------------------------------------------------------------

TOKENS: list[tuple[str, dict[str, Any]]] = [
    ("conv5-8", {"type": "conv", "kernel_size": 5, "out_channels": 8}),
    ("conv1x7-64", {"type": "conv", "kernel_size": [1, 7], "out_channels": 64}),
    ("conv3×3-64", {"type": "conv", "kernel_size": [3, 3], "out_channels": 64}),
    ("conv1x7-64p0x3", {"type": "conv", "kernel_size": [1, 7], "out_channels": 64, "padding": [0, 3]}),
    ("conv3-64p1", {"type": "conv", "kernel_size": 3, "out_channels": 64, "padding": 1}),
    ("conv7-64/2", {"type": "conv", "kernel_size": 7, "out_channels": 64, "stride": 2}),
    ("conv7/2-64", {"type": "conv", "kernel_size": 7, "out_channels": 64, "stride": 2}),
    ("conv3-64s2p1", {"type": "conv", "kernel_size": 3, "out_channels": 64, "stride": 2, "padding": 1}),
    ("conv3-64p1s2", {"type": "conv", "kernel_size": 3, "out_channels": 64, "stride": 2, "padding": 1}),
    ("conv3-64psame", {"type": "conv", "kernel_size": 3, "out_channels": 64, "padding": "same"}),
    ("conv3-64pvalid", {"type": "conv", "kernel_size": 3, "out_channels": 64, "padding": "valid"}),
    ("conv3-64psame_lower", {"type": "conv", "kernel_size": 3, "out_channels": 64, "padding": "same_lower"}),
    ("conv3-64d2", {"type": "conv", "kernel_size": 3, "out_channels": 64, "dilation": 2}),
    ("conv3-64g4", {"type": "conv", "kernel_size": 3, "out_channels": 64, "groups": 4}),
    ("conv3-64nb", {"type": "conv", "kernel_size": 3, "out_channels": 64, "bias": False}),
    ("conv3-64nobias", {"type": "conv", "kernel_size": 3, "out_channels": 64, "bias": False}),
    ("conv3-64p1-relu", {"type": "conv", "kernel_size": 3, "out_channels": 64, "padding": 1, "activation": "relu"}),
    ("conv3-64-leaky-relu", {"type": "conv", "kernel_size": 3, "out_channels": 64, "activation": "leaky_relu"}),
    ("CONV3-64P1-ReLU", {"type": "conv", "kernel_size": 3, "out_channels": 64, "padding": 1, "activation": "relu"}),
    ("dwconv3", {"type": "conv", "kernel_size": 3, "out_channels": "same", "groups": "depthwise"}),
    ("dwconv3s2", {"type": "conv", "kernel_size": 3, "out_channels": "same", "groups": "depthwise", "stride": 2}),
    ("dwconv3-6", {"type": "conv", "kernel_size": 3, "out_channels": 6, "groups": "depthwise"}),
    ("dwconv3-relu", {"type": "conv", "kernel_size": 3, "out_channels": "same", "groups": "depthwise",
                      "activation": "relu"}),
    ("maxpool2", {"type": "maxpool", "kernel_size": 2}),
    ("M", {"type": "maxpool", "kernel_size": 2}),
    ("pool2", {"type": "maxpool", "kernel_size": 2}),
    ("maxpool3/2", {"type": "maxpool", "kernel_size": 3, "stride": 2}),
    ("maxpool3s2p1", {"type": "maxpool", "kernel_size": 3, "stride": 2, "padding": 1}),
    ("maxpool3s2ceil", {"type": "maxpool", "kernel_size": 3, "stride": 2, "ceil_mode": True}),
    ("maxpool2d2", {"type": "maxpool", "kernel_size": 2, "dilation": 2}),
    ("avgpool2", {"type": "avgpool", "kernel_size": 2}),
    ("avgpool3s1p1", {"type": "avgpool", "kernel_size": 3, "stride": 1, "padding": 1}),
    ("gap", {"type": "global_avgpool"}),
    ("globalavgpool", {"type": "global_avgpool"}),
    ("global_avgpool", {"type": "global_avgpool"}),
    ("gmp", {"type": "global_maxpool"}),
    ("adaptive_avgpool7", {"type": "adaptive_avgpool", "output_size": 7}),
    ("adaptive_maxpool2x4", {"type": "adaptive_maxpool", "output_size": [2, 4]}),
    ("fc-10", {"type": "fc", "out_features": 10, "flatten": True}),
    ("fc10", {"type": "fc", "out_features": 10, "flatten": True}),
    ("FC-4096", {"type": "fc", "out_features": 4096, "flatten": True}),
    ("linear-10", {"type": "linear", "out_features": 10, "flatten": True}),
    ("fc-10nb", {"type": "fc", "out_features": 10, "flatten": True, "bias": False}),
    ("fc-10-softmax", {"type": "fc", "out_features": 10, "flatten": True, "activation": "softmax"}),
    ("bn", {"type": "bn"}),
    ("batchnorm2d", {"type": "batchnorm2d"}),
    ("lrn", {"type": "lrn"}),
    ("dropout", {"type": "dropout"}),
    ("dropout0.4", {"type": "dropout", "p": 0.4}),
    ("dropout.4", {"type": "dropout", "p": 0.4}),
    ("dropout-0.4", {"type": "dropout", "p": 0.4}),
    ("relu", {"type": "relu"}),
    ("ReLU", {"type": "relu"}),
    ("tanh", {"type": "tanh"}),
    ("sigmoid", {"type": "sigmoid"}),
    ("leaky-relu", {"type": "leaky_relu"}),
    ("softmax", {"type": "softmax"}),
    ("flatten", {"type": "flatten"}),
    ("identity", {"type": "identity"}),
]


@pytest.mark.parametrize(("token", "entry"), TOKENS, ids=[t for t, _ in TOKENS])
def test_token_gives_the_same_layer_as_its_dict_entry(token: str, entry: dict[str, Any]) -> None:
    assert layers(parse(f"3x32x32: {token}")) == layers(spec(entry))


def test_conv_for_3d_input() -> None:
    net = parse("1x8x8x8: conv3x3x3-4")
    assert layers(net) == layers(spec({"type": "conv", "kernel_size": [3, 3, 3], "out_channels": 4}, shape="1x8x8x8"))


# --- repetition --------------------------------------------------------------------------------------------

REPEATS = [
    ("[conv3-8p1]x2", "conv3-8p1 conv3-8p1"),
    ("[conv3-8p1]X2", "conv3-8p1 conv3-8p1"),
    ("[conv3-8p1]*2", "conv3-8p1 conv3-8p1"),
    ("[conv3-8p1]×2", "conv3-8p1 conv3-8p1"),
    ("[conv3-8p1] x2", "conv3-8p1 conv3-8p1"),
    ("conv3-8p1*2", "conv3-8p1 conv3-8p1"),
    ("conv3-8p1 x2", "conv3-8p1 conv3-8p1"),
    ("conv3-8p1 ×2", "conv3-8p1 conv3-8p1"),
    ("conv3-8p1 *2", "conv3-8p1 conv3-8p1"),
    ("[conv3-8p1 relu]x2 fc-10", "conv3-8p1 relu conv3-8p1 relu fc-10"),
    ("[[conv3-8p1]x2 M]x2", "conv3-8p1 conv3-8p1 M conv3-8p1 conv3-8p1 M"),
    ("[[conv3-8p1 bn relu]x2 [M]x1]x2 gap", " ".join(["conv3-8p1 bn relu"] * 2 + ["M"] + ["conv3-8p1 bn relu"] * 2)
     + " M gap"),
    ("[conv3-8p1 [relu]*3]x2", "conv3-8p1 relu relu relu conv3-8p1 relu relu relu"),
]


@pytest.mark.parametrize(("short", "long"), REPEATS, ids=[s for s, _ in REPEATS])
def test_repeat_forms_expand_in_order(short: str, long: str) -> None:
    assert layers(parse(f"3x32x32: {short}")) == layers(parse(f"3x32x32: {long}"))


def test_to_spec_keeps_repeats_as_repeat_entries() -> None:
    conv = {"type": "conv", "kernel_size": 3, "out_channels": 8, "padding": 1}
    assert to_spec("3x32x32: [conv3-8p1]x2 conv3-8p1 x3 [conv1-8 relu]x2 M", name="n") == {
        "name": "n",
        "input": [3, 32, 32],
        "layers": [
            {**conv, "repeat": 2},
            {**conv, "repeat": 3},
            {"repeat": 2, "layers": [{"type": "conv", "kernel_size": 1, "out_channels": 8}, {"type": "relu"}]},
            {"type": "maxpool", "kernel_size": 2},
        ],
    }


def test_per_dim_sizes_in_a_token_are_not_repeats() -> None:
    (node,) = parse("3x32x32: conv3x3-8p1x2").nodes
    assert node.layer.model_dump(include={"kernel_size", "padding"}) == {"kernel_size": [3, 3], "padding": [1, 2]}


# --- dwconv channels ---------------------------------------------------------------------------------------


def test_dwconv_takes_the_channels_of_its_input() -> None:
    net = parse("3x32x32: conv3-32 dwconv3s2 conv1-64 [dwconv3p1-relu conv1-16]x2")
    dws = [n.layer for n in net.nodes if n.layer.model_dump().get("groups") == "depthwise"]
    assert [layer.model_dump()["out_channels"] for layer in dws] == ["same"] * 3
    rows = cnncalc.analyze(net).layers
    dw_rows = [r for r, n in zip(rows, net.nodes, strict=True) if n.layer in dws]
    assert [r.output_shape[0] for r in dw_rows] == [32, 64, 16]  # each keeps what the layer before it made
    assert rows[-1].output_shape == (16, 14, 14)  # 32 → 30 → ⌊27/2⌋ + 1


def test_dwconv_channels_are_left_to_the_analysis() -> None:
    # The notation no longer runs the engine: a failing layer before a dwconv is the analysis's to report.
    net = parse("3x4x4: conv5-8 dwconv3")
    with pytest.raises(SpecError, match="kernel"):
        cnncalc.analyze(net)


def test_the_notation_never_evaluates_a_layer(monkeypatch: pytest.MonkeyPatch) -> None:
    from cnncalc.engine.layers.base import Layer

    def refuse(self: Layer, x: object) -> None:
        raise AssertionError(f"the notation evaluated {self.type}")

    for cls in {*REGISTRY.values()}:
        monkeypatch.setattr(cls, "evaluate", refuse)
    assert len(parse("3x32x32: conv3-32 dwconv3s2 [dwconv3p1-relu conv1-16]x2 gap fc-10-softmax").nodes) == 8


def test_a_failing_last_dwconv_is_left_to_the_analysis() -> None:
    net = parse("3x2x2: dwconv3")
    with pytest.raises(SpecError, match="kernel"):
        cnncalc.analyze(net)


# --- equivalence with dict specs ---------------------------------------------------------------------------

EQUIVALENT: list[tuple[str, list[Any], str]] = [
    ("lenet", [
        {"type": "conv", "out_channels": 8, "kernel_size": 5},
        {"type": "maxpool", "kernel_size": 2},
        {"type": "conv", "out_channels": 16, "kernel_size": 5},
        {"type": "maxpool", "kernel_size": 2},
        {"type": "fc", "out_features": 120, "flatten": True},
        {"type": "fc", "out_features": 84, "flatten": True},
        {"type": "fc", "out_features": 10, "flatten": True},
    ], LENET),
    ("vgg-block", [
        {"type": "conv", "out_channels": 64, "kernel_size": 3, "padding": 1, "activation": "relu", "repeat": 2},
        {"type": "maxpool", "kernel_size": 2},
        {"repeat": 2, "layers": [{"type": "conv", "out_channels": 8, "kernel_size": 1}, {"type": "bn"}, "relu"]},
        {"type": "global_avgpool"},
        {"type": "fc", "out_features": 10, "flatten": True, "activation": "softmax"},
    ], "3x32x32: conv3-64p1-relu x2, M -> [conv1-8 bn relu]x2 → gap fc-10-softmax"),
    ("alexnet-ish", [
        {"type": "conv", "out_channels": 96, "kernel_size": 11, "stride": 4, "padding": 2, "activation": "relu"},
        "lrn",
        {"type": "maxpool", "kernel_size": 3, "stride": 2},
        {"type": "conv", "out_channels": 256, "kernel_size": 5, "padding": 2, "groups": 2},
        {"type": "dropout", "p": 0.5},
        {"type": "fc", "out_features": 10, "flatten": True},
    ], "3x224x224: conv11-96/4p2-relu lrn maxpool3/2 conv5-256p2g2 dropout0.5 fc-10"),
]


@pytest.mark.parametrize(("entries", "text"), [(e, t) for _, e, t in EQUIVALENT], ids=[i for i, _, _ in EQUIVALENT])
def test_notation_and_dict_give_identical_reports(entries: list[Any], text: str) -> None:
    shape = text.split(":", maxsplit=1)[0]
    data = {"name": "expression", "input": shape, "layers": entries}
    assert cnncalc.analyze(text).to_dict() == cnncalc.analyze(data).to_dict()


# --- the header: shape, separators, case -------------------------------------------------------------------


def test_separators_and_case_do_not_matter() -> None:
    plain = parse("3x32x32: conv5-8 maxpool2 fc-10")
    same = ("3X32X32: CONV5-8, MaxPool2 -> FC-10", "3x32x32:conv5-8→maxpool2,fc-10", "3x32x32:\n conv5-8\n M fc-10")
    for text in same:
        assert layers(parse(text)) == layers(plain), text


def test_input_shape_is_optional_and_overrides() -> None:
    assert parse("conv5-8 fc-10", input_shape=(3, 32, 32)).input == (3, 32, 32)
    assert parse("1x28x28: conv5-8 fc-10", input_shape=(3, 32, 32)).input == (3, 32, 32)
    assert parse("[3, 32, 32]: relu").input == (3, 32, 32)
    assert parse(LENET, name="lenet").name == "lenet"


def test_load_and_analyze_take_notation_strings() -> None:
    assert layers(cnncalc.load(LENET)) == layers(parse(LENET))
    assert cnncalc.analyze(LENET).totals.params == 62_958


def test_describe_grammar_covers_every_form() -> None:
    grammar = describe_grammar()
    for form in ("conv{K}-{C}", "dwconv", "maxpool{K}", "gap", "fc-{N}", "dropout0.4", "[ ... ]xN", "*N", "p1x2"):
        assert form in grammar, form


# --- errors ------------------------------------------------------------------------------------------------

ERRORS: list[tuple[str, str, int, int, str]] = [
    # id, text, column of the caret, carets, part of the message
    ("missing-channels", "3x32x32: conv5-8 conv3- fc-10", 18, 6,
     "cannot read 'conv3-' at column 18: expected channels after '-' (like conv3-64)"),
    ("no-channels", "3x32x32: conv3", 10, 5, "expected channels after the kernel"),
    ("no-kernel", "3x32x32: conv-64", 10, 7, "expected a kernel size after 'conv'"),
    ("unknown", "3x32x32: conv5-8 reul", 18, 4,
     "cannot read 'reul' at column 18: unknown layer (did you mean 'relu'?)"),
    ("unknown-conv", "3x32x32: cnv3-64", 10, 7, "did you mean 'conv'?"),
    ("unknown-no-hint", "3x32x32: qqq", 10, 3, "unknown layer"),
    ("unclosed", "3x32x32: [conv3-8 relu", 10, 1, "'[' at column 10 is never closed"),
    ("stray-close", "3x32x32: conv3-8]x2", 17, 1, "']' at column 17 has no matching '['"),
    ("empty-brackets", "3x32x32: []x2", 10, 2, "empty brackets"),
    ("nothing-to-repeat", "3x32x32: x2 relu", 10, 2, "'x2' at column 10 has nothing to repeat"),
    ("repeat-at-group-start", "3x32x32: [*2 relu]", 11, 2, "has nothing to repeat"),
    ("repeat-zero", "3x32x32: [relu]x0", 16, 2, "at least 1"),
    ("repeat-no-count", "3x32x32: relu *", 15, 1, "expected a whole repeat count like *2"),
    ("repeat-fraction", "3x32x32: relu x2.5", 15, 4, "expected a whole repeat count"),
    ("repeat-twice", "3x32x32: relu*2 x3", 17, 2, "already repeated"),
    ("repeat-huge", "3x32x32: relu x1000000", 15, 8, f"the limit of {MAX_LAYERS:,}"),
    ("repeat-nested", "3x32x32: [[[relu]x100]x100]x100", 28, 4, "makes 1,000,000 layers"),
    ("repeat-siblings", "3x32x32: relu x60000 relu x60000", 27, 6, "expand to 120,000 layers"),
    ("glued-repeat", "3x32x32: conv3-64x2", 10, 10, "write 'conv3-64 x2', 'conv3-64*2' or '[conv3-64]x2'"),
    ("ambiguous-padding", "3x32x32: conv3-64p1x2", 10, 12, "padding 1x2 has 2 sizes but the kernel has 1"),
    ("fc-repeat", "3x32x32: fc-10x2", 10, 7, "the output size is one number"),
    ("not-fusable", "3x32x32: conv3-64-bn", 10, 11, "'-bn' cannot be fused: only parameterless, shape-keeping "
     "activations can; make it a layer of its own: 'conv3-64 bn'"),
    # prelu has parameters (torch.nn.PReLU's weight), so the registry does not mark it fusable; the notation used
    # to accept it here and the spec then refused it.
    ("prelu-has-parameters", "3x8x8: conv3-4-prelu", 8, 13, "make it a layer of its own: 'conv3-4 prelu'"),
    ("not-an-activation", "3x32x32: fc-10-reul", 10, 10, "'-reul' is not an activation that can be fused (did "
     "you mean 'relu'?)"),
    ("fused-typo", "3x32x32: conv3-64-relux", 10, 14, "did you mean 'relu'?"),
    ("dangling-dash", "3x32x32: conv3-64-", 10, 9, "expected an activation after '-'"),
    ("fc-dangling-dash", "3x32x32: fc-10-", 10, 6, "expected an activation after '-'"),
    ("dw-dangling-dash", "3x32x32: dwconv3-", 10, 8, "expected channels or an activation"),
    ("type-needs-fields", "3x32x32: conv2d", 10, 6,
     "type 'conv2d' needs out_channels, kernel_size: write it like conv3-64"),
    ("pool-no-window", "3x32x32: maxpool", 10, 7, "write it like maxpool2"),
    ("fc-no-size", "3x32x32: fc", 10, 2, "write it like fc-10"),
    ("avgpool-dilation", "3x32x32: avgpool2d2", 10, 10, "unexpected 'd2'"),
    ("pool-activation", "3x32x32: maxpool2-relu", 10, 13, "unexpected '-relu'"),
    ("twice", "3x32x32: conv3-64s2s2", 10, 12, "stride is given twice"),
    ("zero-channels", "3x32x32: conv3-0", 10, 7, "channels must be at least 1"),
    ("zero-groups", "3x32x32: conv3-64g0", 10, 10, "groups after 'g' must be at least 1"),
    ("huge-number", "3x32x32: conv3-" + "9" * 30, 10, 36, "is too large"),
    ("non-ascii-digit", "3x32x32: conv3-８", 10, 7, "expected channels"),
    ("four-dims", "3x32x32: conv3x3x3x3-4", 10, 13, "at most 3"),
    ("dropout-range", "3x32x32: dropout1.5", 10, 10, "p: input should be less than or equal to 1"),
    ("bad-shape", "3xax32: relu", 1, 6, "cannot read the input shape '3xax32'"),
    ("missing-shape", "conv3-8 relu", 1, 7, "missing input shape"),
    ("no-layers", "3x32x32:", 1, 8, "no layers after the input shape"),
]


@pytest.mark.parametrize(("text", "column", "width", "message"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_errors_quote_the_text_with_a_caret(text: str, column: int, width: int, message: str) -> None:
    with pytest.raises(NotationError) as info:
        parse(text)
    err = info.value
    assert isinstance(err, SpecError) and err.file is None
    lines = str(err).splitlines()
    assert message in lines[0]
    shown, carets = lines[1], lines[2]
    assert shown == "  " + text.replace("\n", " ")
    assert carets.index("^") - 2 == column - 1
    assert carets.strip() == "^" * width


def test_long_text_is_windowed_around_the_caret() -> None:
    text = "3x32x32: " + "relu " * 40 + "foo " + "relu " * 40
    with pytest.raises(NotationError) as info:
        parse(text)
    _, shown, carets = str(info.value).splitlines()[:3]
    assert shown.startswith("  …") and shown.endswith("…") and len(shown) < 110
    start = carets.index("^")
    assert shown[start : start + 3] == "foo" and carets.strip() == "^^^"


@pytest.mark.parametrize("text", ["", "   ", "\n"], ids=["empty", "spaces", "newline"])
def test_empty_notation(text: str) -> None:
    with pytest.raises(NotationError, match="empty notation"):
        parse(text)


def test_bad_input_shape_argument() -> None:
    with pytest.raises(NotationError, match="input_shape"):
        parse("relu", input_shape=(3, 0, 4))


FRAGMENTS = [
    "conv", "dw", "pool", "max", "avg", "fc", "linear", "gap", "M", "relu", "bn", "dropout", "adaptive_", "3", "64",
    "0", "1", "2", ".5", "-", "x", "×", "*", "[", "]", " ", ",", "->", "s", "/", "p", "d", "g", "nb", "ceil", "same",
    ":", "3x8x8:", "reul", "softmax", "8",
]


@given(st.lists(st.sampled_from(FRAGMENTS), max_size=14).map("".join), st.booleans())
def test_any_text_gives_a_network_or_a_notation_error(text: str, with_shape: bool) -> None:
    with contextlib.suppress(NotationError):
        parse(text, input_shape=(3, 8, 8) if with_shape else None)


def test_todays_layers_without_required_fields_are_notation_items() -> None:
    # Issue #9: a ConvNeXt-style stem and block tail in one line; mish is fusable (parameterless, shape-keeping).
    report = cnncalc.analyze("3x32x32: conv4-16s4-mish layernorm2d layer_scale drop_path instancenorm gap")
    types = [row.type for row in report.layers]
    assert types == ["conv", "layernorm2d", "layer_scale", "drop_path", "instancenorm", "global_avgpool"]
    # conv 4x4/4 to 16: (48 + 1)·16 = 784; layernorm2d γ, β of 16; layer scale 16.
    assert report.totals.params == 784 + 32 + 16
    with pytest.raises(NotationError):
        cnncalc.load("3x32x32: conv3-16 groupnorm")  # num_groups is required: write it in YAML
