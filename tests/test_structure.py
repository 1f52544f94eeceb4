"""Graphs in specs: branches and merges, blocks with arguments, references by name, hierarchy, network args."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner

import cnncalc
from cnncalc import SpecError
from cnncalc.cli import main
from cnncalc.render.table import render, rows
from cnncalc.render.text import Options

INCEPTION = {
    "args": {"c1": None, "r3": None, "c3": None, "r5": None, "c5": None, "pp": None},
    "layers": [{
        "type": "concat",
        "name": "cat",
        "branches": [
            [{"type": "conv2d", "out_channels": "$c1", "kernel_size": 1, "bias": False, "activation": "relu"}],
            [{"type": "conv2d", "out_channels": "$r3", "kernel_size": 1, "bias": False, "activation": "relu"},
             {"type": "conv2d", "out_channels": "$c3", "kernel_size": 3, "padding": 1, "bias": False,
              "activation": "relu"}],
            [{"type": "conv2d", "out_channels": "$r5", "kernel_size": 1, "bias": False, "activation": "relu"},
             {"type": "conv2d", "out_channels": "$c5", "kernel_size": 5, "padding": 2, "bias": False,
              "activation": "relu"}],
            [{"type": "maxpool2d", "kernel_size": 3, "stride": 1, "padding": 1},
             {"type": "conv2d", "out_channels": "$pp", "kernel_size": 1, "bias": False, "activation": "relu"}],
        ],
    }],
}


def inception_3a() -> cnncalc.Report:
    return cnncalc.analyze({
        "input": [192, 28, 28],
        "blocks": {"inception": INCEPTION},
        "layers": [{"block": "inception", "name": "inception_3a",
                    "with": {"c1": 64, "r3": 96, "c3": 128, "r5": 16, "c5": 32, "pp": 32}}],
    })


def test_inception_3a_matches_googlenet_table_1() -> None:
    # Szegedy et al. 2014, Table 1, inception (3a): output 28x28x256, 159K params (K = 1024, weights only), 128M ops.
    # Weights: 192·64 + 192·96 + 9·96·128 + 192·16 + 25·16·32 + 192·32 = 163,328 = 159.5 Ki.
    report = inception_3a()
    assert report.output_shape == (256, 28, 28)  # 64 + 128 + 32 + 32 channels
    assert report.totals.params == 163_328
    assert report.totals.macs == 163_328 * 28 * 28  # 128,049,152 = "128M"
    (block,) = report.blocks
    assert (block.name, block.block, block.layers) == ("inception_3a", "inception", 8)
    assert block.params == 163_328 and block.output_shape == (256, 28, 28)


def test_merge_receptive_field_is_the_hull_of_its_paths() -> None:
    # The 5x5 branch (1x1 then 5x5) sees 5 pixels; the 3x3 one 3, the pool branch 3: the concat sees 5.
    row = inception_3a().layer("inception_3a/cat")
    assert row.receptive_field == (5, 5) and row.jump == (1, 1)
    assert row.notes == ()  # all branches centred alike: aligned
    assert row.inputs == (
        "inception_3a/cat/b1/conv2d_1", "inception_3a/cat/b2/conv2d_2", "inception_3a/cat/b3/conv2d_2",
        "inception_3a/cat/b4/conv2d_1",
    )


def test_misaligned_paths_are_noted() -> None:
    # 3x3 without padding centres its first output at pixel 1; a 1x1 at pixel 0: the sum is misaligned.
    report = cnncalc.analyze({"input": [4, 9, 9], "layers": [{
        "type": "add", "branches": [
            [{"type": "conv2d", "out_channels": 4, "kernel_size": 3, "stride": 2}],
            [{"type": "conv2d", "out_channels": 4, "kernel_size": 1, "stride": 2, "padding": 0},
             {"type": "crop", "size": 4}],
        ]}]})
    row = report.layers[-1]
    assert row.output_shape == (4, 4, 4)
    assert "misaligned" in row.notes[0]


def bottleneck_spec(**stage: Any) -> dict[str, Any]:
    return {
        "input": [64, 56, 56],
        "blocks": {"bottleneck": {
            "args": {"width": None, "stride": 1, "project": False},
            "layers": [
                {"type": "add", "name": "sum", "branches": [
                    [{"type": "conv2d", "out_channels": "$width", "kernel_size": 1, "bias": False},
                     {"type": "conv2d", "out_channels": "$width", "kernel_size": 3, "stride": "$stride",
                      "padding": 1, "bias": False},
                     {"type": "conv2d", "out_channels": "${width * 4}", "kernel_size": 1, "bias": False}],
                    [{"if": "$project", "type": "conv2d", "out_channels": "${width * 4}", "kernel_size": 1,
                      "stride": "$stride", "bias": False}],
                ]},
                "relu",
            ],
        }},
        "layers": [{"block": "bottleneck", "name": "layer1", "repeat": 3, "with": {"width": 64}, **stage}],
    }


def test_block_arguments_first_and_if() -> None:
    # ResNet-50 conv2_x without BN: the first block projects 64 → 256 (1x1), the others add the identity.
    # Weights: first 64·64 + 9·64·64 + 64·256 + 64·256 (projection) = 73,728; others 256·64 + 9·64·64 + 64·256 = 69,632.
    report = cnncalc.analyze(bottleneck_spec(first={"project": True}))
    assert [b.name for b in report.blocks] == ["layer1_1", "layer1_2", "layer1_3"]
    assert [b.params for b in report.blocks] == [73_728, 69_632, 69_632]
    assert report.output_shape == (256, 56, 56)
    assert report.layer("layer1_1/sum").inputs == ("layer1_1/sum/b1/conv2d_3", "layer1_1/sum/b2/conv2d_1")
    assert report.layer("layer1_2/sum").inputs == ("layer1_2/sum/b1/conv2d_3", "layer1_1/relu_1")


def test_each_gives_per_instance_arguments() -> None:
    spec = bottleneck_spec()
    spec["layers"] = [{"block": "bottleneck", "name": "s", "repeat": 2, "with": {"width": 32},
                       "each": [{"project": True, "stride": 2}, {}]}]
    report = cnncalc.analyze(spec)
    assert [b.name for b in report.blocks] == ["s_1", "s_2"]
    assert report.output_shape == (128, 28, 28)
    assert report.blocks[0].output_shape == (128, 28, 28)


def test_missing_projection_is_a_clear_merge_error() -> None:
    with pytest.raises(SpecError) as info:
        cnncalc.analyze(bottleneck_spec())
    message = info.value.render()
    assert "layer 'layer1_1/sum' (add): cannot add 256x56x56 and 64x56x56: dim 1 (C) has sizes 256 and 64" in message
    assert "'input' gives 64x56x56" in message


def test_references_make_skip_connections() -> None:
    # U-Net style: keep a feature map, go down and up, crop it to size and concatenate.
    report = cnncalc.analyze({"input": [1, 20, 20], "layers": [
        {"type": "conv2d", "name": "enc", "out_channels": 8, "kernel_size": 3},             # 8x18x18
        {"type": "maxpool2d", "kernel_size": 2},                                          # 8x9x9
        {"type": "conv2d", "out_channels": 16, "kernel_size": 3},                          # 16x7x7
        {"type": "conv_transpose2d", "name": "up", "out_channels": 8, "kernel_size": 2, "stride": 2},  # 8x14x14
        {"type": "crop", "name": "skip", "inputs": ["enc"], "to": "up"},                   # 8x14x14
        {"type": "concat", "inputs": ["skip", "up"]},                                     # 16x14x14
    ]})
    assert report.layer("skip").output_shape == (8, 14, 14)
    assert report.output_shape == (16, 14, 14)
    assert report.layer("concat_1").inputs == ("skip", "up")


def test_block_instance_name_refers_to_its_output() -> None:
    spec = bottleneck_spec(first={"project": True}, repeat=1)
    spec["layers"] = [spec["layers"][0], {"type": "concat", "inputs": ["layer1", "input"]}]
    report = cnncalc.analyze(spec)
    assert report.layers[-1].inputs == ("layer1/relu_1", "input")
    assert report.output_shape == (256 + 64, 56, 56)


def test_table_shows_blocks_and_folds_with_depth() -> None:
    report = cnncalc.analyze(bottleneck_spec(first={"project": True}))
    full = rows(report)
    assert [r.name for r in full[:3]] == ["layer1_1", "  sum/b1/conv2d_1", "  sum/b1/conv2d_2"]
    assert full[0].block and full[0].params == 73_728
    folded = rows(report, depth=1)
    assert [r.name for r in folded] == ["layer1_1", "layer1_2", "layer1_3"]
    text = render(report, Options(width=100, depth=1))
    assert "layer1_1" in text and "sum/b1" not in text


def test_network_arguments_via_api_and_cli(tmp_path: Any) -> None:
    spec = tmp_path / "net.yaml"
    spec.write_text(
        "input: [3, 8, 8]\nargs: {width: 4, extra: false}\nlayers:\n"
        "  - {type: conv2d, out_channels: $width, kernel_size: 1}\n"
        "  - {if: $extra, type: conv2d, out_channels: 2, kernel_size: 1}\n"
    )
    assert cnncalc.analyze(spec).output_shape == (4, 8, 8)
    assert cnncalc.analyze(spec, args={"width": 6}).output_shape == (6, 8, 8)
    assert cnncalc.analyze(spec, args={"extra": True}).output_shape == (2, 8, 8)
    runner = CliRunner()
    result = runner.invoke(main, [str(spec), "--set", "width=5", "--set", "extra=false", "--format", "csv"])
    assert result.exit_code == 0 and ",5x8x8," in result.stdout
    bad = runner.invoke(main, [str(spec), "--set", "depth=3"])
    assert bad.exit_code == 2 and "the spec has no argument depth (its args: width, extra)" in bad.stderr


@pytest.mark.parametrize(
    ("dilations", "fields"),
    [
        # VGG paper Sec. 2.3: "a stack of two 3×3 conv. layers ... has an effective receptive field of 5×5; three
        # such layers have a 7×7 effective receptive field".
        ((1, 1, 1), (3, 5, 7)),
        # Yu & Koltun 2016, Fig. 1: 1-, 2- and 4-dilated 3x3 convolutions give 3x3, 7x7 and 15x15.
        ((1, 2, 4), (3, 7, 15)),
    ],
    ids=["vgg-three-3x3", "yu-koltun-1-2-4"],
)
def test_receptive_fields_of_stacked_convolutions(dilations: tuple[int, ...], fields: tuple[int, ...]) -> None:
    layers = [{"type": "conv2d", "out_channels": 4, "kernel_size": 3, "dilation": d, "padding": d} for d in dilations]
    report = cnncalc.analyze({"input": [4, 32, 32], "layers": layers})
    assert tuple(r.receptive_field[0] for r in report.layers if r.receptive_field) == fields


def test_upsampling_halves_the_jump() -> None:
    report = cnncalc.analyze({"input": [4, 8, 8], "layers": [
        {"type": "conv2d", "out_channels": 4, "kernel_size": 2, "stride": 2},          # r 2, j 2
        {"type": "upsample", "scale_factor": 2},                                      # r 2, j 1
        {"type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1},         # r 2 + 2·1 = 4
    ]})
    assert [r.jump for r in report.layers] == [(2, 2), (1, 1), (1, 1)]
    assert [r.receptive_field for r in report.layers] == [(2, 2), (2, 2), (4, 4)]


def test_json_carries_inputs_groups_and_blocks() -> None:
    data = cnncalc.analyze(bottleneck_spec(first={"project": True})).to_dict()
    assert data["blocks"][0] == {
        "name": "layer1_1", "block": "bottleneck", "depth": 1, "output_shape": [256, 56, 56], "layers": 6,
        "params": 73_728, "biases": 0, "trainable_params": 73_728, "buffers": 0, "macs": data["blocks"][0]["macs"],
        "flops": data["blocks"][0]["flops"], "connections": data["blocks"][0]["macs"],
        "activations": data["blocks"][0]["activations"], "receptive_field": [3, 3],
    }
    assert data["layers"][0]["groups"] == ["layer1_1"]
    assert sum(b["macs"] for b in data["blocks"]) == data["totals"]["macs"]


def test_large_generated_dag_is_linear_and_bounded() -> None:
    # 2,000 residual units of (conv, add) = 4,000 nodes, each add reading the unit's input by name.
    layers: list[Any] = []
    prev = "input"
    for i in range(2000):
        layers.append({"type": "conv2d", "name": f"c{i}", "out_channels": 4, "kernel_size": 1, "inputs": [prev]})
        layers.append({"type": "add", "name": f"a{i}", "inputs": [f"c{i}", prev]})
        prev = f"a{i}"
    report = cnncalc.analyze({"input": [4, 4, 4], "layers": layers})
    assert len(report.layers) == 4000
    assert report.totals.params == 2000 * (4 * 4 + 4)


@pytest.mark.parametrize(
    ("stride", "project", "kept"),
    [(1, False, ["relu"]), (2, False, ["sigmoid"]), (1, True, ["sigmoid"])],
)
def test_conditions_in_expressions(stride: int, project: bool, kept: list[str]) -> None:
    # MobileNetV2's residual rule: add the shortcut only when the stride is 1 and the channels match.
    spec = {"input": [4, 8, 8], "args": {"s": stride, "p": project}, "layers": [
        {"if": "${s == 1 and not p}", "type": "relu"},
        {"if": "${s > 1 or p}", "type": "sigmoid"},
    ]}
    assert [row.type for row in cnncalc.analyze(spec).layers] == kept
