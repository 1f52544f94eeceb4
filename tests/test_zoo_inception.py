"""Golden figures for the Inception family: GoogLeNet (paper/Caffe and torchvision) and torchvision's Inception v3.

As in test_zoo.py, every number is a literal from a primary source or derived by hand from the published
architecture (/work/shared/reference/published.md §4 and §10; derivations written out in the comments), never
computed by cnncalc itself. GoogLeNet's Table 1, row by row (output sizes, params, ops, the exact derived weights
and MACs, and the errata), is expect data in specs/googlenet.yaml, checked by test_zoo.py and
test_published_tables.py; only the arithmetic behind the conv1 erratum's reconciliation is checked here.
"""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

import cnncalc
from cnncalc.cli import main
from cnncalc.engine.report import Report
from cnncalc.spec.figures import parse_figure

SPECS = Path(__file__).resolve().parent.parent / "specs"


def analyze(name: str, **args: bool) -> Report:
    return cnncalc.analyze(SPECS / f"{name}.yaml", args=args or None)


def within(actual: int, gmacs: float, tolerance: float = 0.005) -> bool:
    return abs(actual / (gmacs * 1e9) - 1) <= tolerance


def holds(published: str, actual: int) -> bool:
    """The expect checker's rule: a printed figure holds within half a unit of its last digit."""
    value, half = parse_figure(published)
    return value - half <= actual <= value + half


# --- totals ---------------------------------------------------------------------------------------------------


def test_googlenet_caffe_totals() -> None:
    # published.md §4, derived from BVLC/caffe models/bvlc_googlenet/deploy.prototxt: 6,998,552 parameters.
    report = analyze("googlenet")
    assert report.totals.params == 6_998_552
    # Biases: one per output channel of every conv and of the classifier. Convs: conv1 64 + conv2_reduce 64 +
    # conv2 192 = 320; inception rows (sum of the six widths of Table 1): 368 + 640 + 624 + 648 + 664 + 704 + 1024 +
    # 1024 + 1264 = 6,960; fc 1,000 → 8,280, so 6,990,272 weights (published.md's 6,991,272 keeps the fc biases).
    assert sum(row.biases for row in report.layers) == 8_280
    assert report.totals.params - 8_280 == 6_990_272
    # MACs: the sum of published.md §4's derived per-row MACs (118,013,952 + 359,661,568 + 128,049,152 +
    # 304,267,264 + 73,608,192 + 87,908,352 + 99,850,240 + 118,515,712 + 169,996,288 + 51,079,168 + 70,697,984 +
    # 1,024,000).
    assert report.totals.macs == 1_582_671_872
    assert report.output_shape == (1000,)


def test_googlenet_caffe_aux() -> None:
    # published.md §4: 13,378,280 with the two aux classifiers of train_val.prototxt, 3,188,840 on 4a (512·128 + 128
    # + 2048·1024 + 1024 + 1024·1000 + 1000) and 3,190,888 on 4d (528 input channels).
    report = analyze("googlenet", aux=True)
    assert report.totals.params == 13_378_280
    assert report.output_shape == (1000,)
    assert report.layers[-1].name == "fc"
    blocks = {b.name: b for b in report.blocks}
    assert blocks["loss1"].params == 3_188_840
    assert blocks["loss2"].params == 3_190_888


def test_googlenet_torchvision_totals() -> None:
    # torchvision GoogLeNet_Weights.IMAGENET1K_V1 meta: num_params 6,624,904, _ops 1.498 (GMACs); published.md §10.
    report = analyze("googlenet_torchvision")
    assert report.totals.params == 6_624_904
    assert within(report.totals.macs, 1.498)
    assert report.output_shape == (1000,)


def test_googlenet_torchvision_aux() -> None:
    # published.md §4: 13,004,888 with aux1 and aux2. By hand: aux1 = 512·128 + 2·128 (BN) + 2048·1024 + 1024 +
    # 1024·1000 + 1000 = 3,188,968; aux2 = 528·128 + 256 + 3,122,176 = 3,191,016; sum 6,379,984.
    off = analyze("googlenet_torchvision", aux=False)
    on = analyze("googlenet_torchvision", aux=True)
    assert off.totals.params == 6_624_904
    assert on.totals.params == 13_004_888
    blocks = {b.name: b for b in on.blocks}
    assert (blocks["aux1"].params, blocks["aux2"].params) == (3_188_968, 3_191_016)
    # Aux MACs by hand: 512·128·16 + 2048·1024 + 1024·1000 = 4,169,728 and 528·128·16 + ... = 4,202,496.
    assert on.totals.macs - off.totals.macs == 8_372_224
    # The main path continues from inception4a / 4d: the last layer is still the classifier.
    assert on.layers[-1].name == "fc"
    assert on.layer("inception4b/cat/b1/branch1/conv").inputs == ("inception4a/cat",)
    assert on.layer("aux2/pool").inputs == ("inception4d/cat",)


def test_inception_v3_totals() -> None:
    # torchvision Inception_V3_Weights.IMAGENET1K_V1 meta: num_params 27,161,264 including AuxLogits, _ops 5.713
    # (GMACs at 299x299, eval mode, where AuxLogits does not run); published.md §10.
    on = analyze("inception_v3")
    off = analyze("inception_v3", aux=False)
    assert on.totals.params == 27_161_264
    assert within(off.totals.macs, 5.713)
    # AuxLogits by hand: conv0 768·128 + 2·128 = 98,560; conv1 128·768·25 + 2·768 = 2,459,136; fc 768·1000 + 1000 =
    # 769,000 → 3,326,696 parameters; MACs 2,457,600 (conv0 at 5x5) + 2,457,600 (conv1 at 1x1) + 768,000 = 5,683,200.
    assert on.totals.params - off.totals.params == 3_326_696
    assert off.totals.params == 23_834_568
    assert on.totals.macs - off.totals.macs == 5_683_200
    assert on.output_shape == off.output_shape == (1000,)
    assert on.layers[-1].name == "fc"


def test_inception_v3_shapes_and_receptive_field() -> None:
    # torchvision inception.py forward comments: 149, 147, 147, 73, 73, 71, 35, 35, 35, 35, 17, ..., 8, 8, 8.
    report = analyze("inception_v3")
    sizes = {
        "maxpool1": (64, 73, 73), "maxpool2": (192, 35, 35), "Mixed_5b/cat": (256, 35, 35),
        "Mixed_5d/cat": (288, 35, 35), "Mixed_6a/cat": (768, 17, 17), "Mixed_6e/cat": (768, 17, 17),
        "Mixed_7a/cat": (1280, 8, 8), "Mixed_7c/cat": (2048, 8, 8),
    }
    assert {name: report.layer(name).output_shape for name in sizes} == sizes
    # InceptionE's nested concats: 384 + 384 channels from the 1x3 and 3x1 convs side by side.
    assert report.layer("Mixed_7b/cat/b2/branch3x3").output_shape == (768, 8, 8)
    # Asymmetric kernel with padding [0, 3] keeps 17x17; the conv (no bias) has c7·c7·7 weights, c7 = 128 in Mixed_6b.
    row = report.layer("Mixed_6b/cat/b2/branch7x7_2/conv")
    assert row.output_shape == (128, 17, 17)
    assert row.params == 128 * 128 * 7
    # Araujo et al., Distill 2019 table: inception_v3 RF 1311, effective stride 32, effective padding 618.
    end = report.layer("Mixed_7c/cat")
    assert end.receptive_field == (1311, 1311)
    assert end.jump == (32, 32)
    assert end.rf_offset is not None and (1311 - 1) / 2 - end.rf_offset[0] == 618


def test_googlenet_torchvision_output_sizes() -> None:
    # torchvision googlenet.py forward comments (same sizes as Table 1; maxpool4 is 2x2/2 with ceil_mode).
    report = analyze("googlenet_torchvision")
    names = ("maxpool1", "conv3/relu", "maxpool2", "inception3b/cat", "maxpool3", "inception4e/cat", "maxpool4",
             "inception5b/cat", "avgpool")
    assert [report.layer(n).output_shape for n in names] == [
        (64, 56, 56), (192, 56, 56), (192, 28, 28), (480, 28, 28), (480, 14, 14), (832, 14, 14), (832, 7, 7),
        (1024, 7, 7), (1024, 1, 1),
    ]


# --- GoogLeNet Table 1: the conv1 erratum's reconciliation ------------------------------------------------------


def test_googlenet_conv1_separable_reconstruction() -> None:
    # Table 1 prints conv1 as 2.7K params / 34M ops; a plain 7x7x3x64 conv (9,408 weights, 118,013,952 MACs, checked
    # as expect data) fits neither. A separable first layer (7x7 depthwise x8 on 3 channels, 1,176 weights, then 1x1
    # 24→64, 1,536; published.md §4) has 2,712 weights, and 2,712·112² = 34,019,328 holds as "34M". Its weights
    # are 2.648Ki, just under what "2.7Ki" covers (2,713.6), so the params cell fits it only with K = 1000 or a
    # looser rounding.
    assert not holds("2.7Ki", 9_408) and not holds("34M", 118_013_952)
    assert 7 * 7 * 3 * 8 + 24 * 64 == 2_712
    assert holds("34M", 2_712 * 112 * 112)
    assert not holds("2.7Ki", 2_712) and holds("2.7K", 2_712)


# --- CLI ------------------------------------------------------------------------------------------------------


def test_cli_googlenet_depth_one_shows_inception_rows() -> None:
    result = CliRunner().invoke(main, ["googlenet", "--depth", "1", "--width", "120"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    for name in ("3a", "3b", "4a", "4b", "4c", "4d", "4e", "5a", "5b"):
        row = next(line for line in lines if line.startswith(f"inception_{name} "))
        assert "layers" in row
    # Folded: no row from inside a block is shown.
    assert not any(line.startswith("inception_3a/") for line in lines)
    # inception (3a) as one row: 163,696 parameters (163,328 weights of Table 1's widths + 368 biases).
    assert "163,696" in next(line for line in lines if line.startswith("inception_3a "))


def test_cli_set_aux() -> None:
    result = CliRunner().invoke(main, ["googlenet_torchvision", "--set", "aux=true", "--format", "json"])
    assert result.exit_code == 0, result.output
    import json

    assert json.loads(result.output)["totals"]["params"] == 13_004_888
