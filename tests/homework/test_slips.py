"""The catalogue of slips (proof/homework/slips.py): each common mistake named, with its wrong derivation."""

from __future__ import annotations

from pathlib import Path

import pytest

from homework.helpers import conv, only, run


@pytest.mark.parametrize(
    ("spec", "table", "mistake"),
    [
        # LeNet-5's C1 (LeCun 1998): 6 5x5 maps on 1x32x32, 156 parameters = 150 weights + 6 biases.
        (conv(input=[1, 32, 32], out_channels=6, kernel_size=5), "params\n150\n",
         "150 = 5·5·1·6: the biases seem to be left out"),
        (conv(out_channels=8, kernel_size=5), "params\n601\n",
         "601 = 5·5·3·8 + 1: one bias for the whole layer instead of one per filter"),
        (conv(out_channels=10, kernel_size=5, padding=2), "shape\n28x28x10\n",
         "the padding 2 seems to be ignored: H_out = ⌊(32 + 0 + 0 − 5) / 1⌋ + 1 = 28"),
        (conv(out_channels=10, kernel_size=5, padding=2), "shape\n30x30x10\n",
         "the padding seems counted on one side only (P, not 2P): H_out = ⌊(32 + 0 + 2 − 5) / 1⌋ + 1 = 30"),
        (conv(out_channels=4, kernel_size=3), "shape\n32x32x4\n", "'same' padding seems assumed"),
        (conv(out_channels=4, kernel_size=5, stride=2), "shape\n15x15x4\n",
         "ceil seems used instead of floor: H_out = ⌈(32 + 0 + 0 − 5) / 2⌉ + 1 = 15"),
        # cs231n's AlexNet CONV1: (227 − 11)/4 + 1 = 55; without the + 1 it is 54, without the stride 217.
        (conv(input=[3, 227, 227], out_channels=96, kernel_size=11, stride=4), "shape\n54x54x96\n",
         "the + 1 of ⌊(W + 2P − K) / S⌋ + 1 seems forgotten: H_out = ⌊(227 + 0 + 0 − 11) / 4⌋ = 54"),
        (conv(input=[3, 227, 227], out_channels=96, kernel_size=11, stride=4), "shape\n217x217x96\n",
         "the stride 4 seems to be ignored"),
        (conv(out_channels=4, kernel_size=3, padding=1, stride=2), "shape\n8x8x4\n",
         "the stride 2 seems applied twice: H_out = ⌊(32 + 1 + 1 − 3) / 4⌋ + 1 = 8"),
        (conv(out_channels=4, kernel_size=3, dilation=2), "shape\n30x30x4\n", "the dilation seems ignored"),
        (conv(input=[8, 16, 16], out_channels=16, kernel_size=3), "params\n400\n",
         "400 = 3·1·8·16 + 16: the kernel seems counted as 3, not 3·3"),
        ({"input": [32, 16, 16], "layers": [{"type": "conv2d", "out_channels": 32, "kernel_size": 3,
                                             "groups": "depthwise", "padding": 1}]}, "params\n9248\n",
         "9248 = 3·3·32·32 + 32: the groups seem ignored"),
        ({"input": [64, 56, 56], "layers": [{"type": "maxpool2d", "kernel_size": 3, "stride": 2}]},
         "shape\n28x28x64\n", "ceil seems used instead of floor: H_out = ⌈(56 + 0 + 0 − 3) / 2⌉ + 1 = 28"),
        ({"input": [8, 28, 28], "layers": [{"type": "maxpool2d", "kernel_size": 2}]}, "params\n8\n",
         "a bias per channel seems counted, but pooling learns nothing"),
        ({"input": [8, 28, 28], "layers": [{"type": "maxpool2d", "kernel_size": 2}]}, "params\n264\n",
         "264 = 2·2·8·8 + 8: the pooling window seems counted as a convolution's weights"),
        ({"input": [6, 28, 28], "layers": [{"type": "avgpool2d", "kernel_size": 2}]}, "params\n12\n",
         "LeNet-5's trainable subsampling"),
        ("3x32x32: conv5-8 maxpool2 flatten fc-10", "params\n608\n0\n0\n90\n",
         "90 = 8·10 + 10: only the 8 channels seem taken as the fan-in, not all 8·14·14 = 1,568"),
        ("3x32x32: conv5-8 maxpool2 fc-10", "params\n608\n0\n1970\n",
         "1970 = 1·14·14·10 + 10: the input depth 8 seems to be left out"),
        (conv(out_channels=8, kernel_size=5), "size\n784\n", "the depth 8 seems left out of the size"),
        (conv(out_channels=8, kernel_size=5), "layer,size\nconv1,3072\n",
         "the size of the layer's input, not of its output"),
        (conv(out_channels=8, kernel_size=5), "MACs\n947072\n", "that is a FLOPs count (2 per multiply-add)"),
        (conv(out_channels=8, kernel_size=5), "FLOPs\n470400\n", "that is the MACs count"),
        (conv(out_channels=8, kernel_size=5), "weights\n608\n", "608 = 5·5·3·8 + 8: the biases seem counted"),
        (conv(out_channels=8, kernel_size=5), "memory (bytes)\n6272\n", "that is the number of values"),
    ],
    ids=["bias", "one-bias", "padding", "padding-once", "same", "ceil-conv", "plus-one", "stride-ignored",
         "stride-twice", "dilation", "kernel-once", "groups", "ceil-pool", "pool-bias",
         "pool-weights", "subsampling", "fc-channels", "fc-depth", "size-depth", "size-input", "macs-flops",
         "flops-macs", "weights-bias", "bytes"],
)
def test_mistakes_are_named(spec: str | dict[str, object], table: str, mistake: str, tmp_path: Path) -> None:
    result = run(spec, table, tmp_path, "t.csv")
    wrong = [c for c in result.cells if not c.ok]
    assert len(wrong) == 1, result.cells
    assert mistake in wrong[0].mistake, wrong[0].mistake


def test_the_issue_example_depth_left_out(tmp_path: Path) -> None:
    # The issue: conv 8 5x5 on 3x32x32; 208 = (5·5·1 + 1)·8, the input depth 3 left out.
    cell = only(run("3x32x32: conv5-8", "| layer | # parameters |\n|-|-|\n| conv_1 | 208 |\n", tmp_path))
    assert (cell.ok, cell.correct, cell.derivation) == (False, "608", "params = 5·5·3·8 + 8 = 608")
    assert cell.mistake == "208 = 5·5·1·8 + 8: the input depth 3 seems to be left out"


def test_no_slip_reproduces_a_random_number(tmp_path: Path) -> None:
    cell = only(run("3x32x32: conv5-8", "params\n1234\n", tmp_path, "t.csv"))
    assert not cell.ok and cell.mistake == ""


def test_a_wrong_shape_carries_over(tmp_path: Path) -> None:
    # conv1 pads by 2 (32x32 out); the table ignores the padding (28x28) and then pools its own 28x28 correctly.
    result = run("3x32x32: conv5-8p2 maxpool2 conv3-16", "shape\n28x28x8\n14x14x8\n12x12x16\n", tmp_path, "t.csv")
    pool, conv3 = result.cells[1], result.cells[2]
    assert "carried over from row 1's shape 28x28x8 (itself wrong)" in pool.mistake
    assert "carried over from row 2's shape 14x14x8" in conv3.mistake
    assert result.layout == "hwc"  # no shape is right, but the channels are written last


def test_every_registry_family_has_its_slips() -> None:
    # A layer type gets slips by declaring its family: no family may fall through the catalogue unnoticed.
    from cnncalc.engine.layers import layer_classes
    from cnncalc.proof.homework.slips import CATALOGUE

    assert {cls.family for cls in layer_classes()} <= set(CATALOGUE)


@pytest.mark.parametrize("kind", ["conv_transpose2d", "deconv"])
def test_slips_follow_the_family_not_the_type_name(kind: str, tmp_path: Path) -> None:
    # A transposed convolution 8 → 16 with a 3x3 kernel has 8·16·3·3 + 16 = 1,168 parameters (torch's
    # ConvTranspose2d weight is C_in × C_out × K × K, plus C_out biases); counting the kernel as 3 gives
    # 8·16·3 + 16 = 400, whatever the type is called.
    spec = {"input": [8, 8, 8], "layers": [{"type": kind, "name": "up", "out_channels": 16, "kernel_size": 3}]}
    cell = only(run(spec, "params\n400\n", tmp_path, "t.csv"))
    assert cell.correct == "1,168"
    assert "the kernel seems counted as 3, not 3·3" in cell.mistake
