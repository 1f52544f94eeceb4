"""Golden figures for every zoo network, asserted as literal numbers taken from their primary sources.

Each number is copied from a paper, the torchvision weights metadata, the cs231n notes, or derived by hand from
the published architecture (see /work/shared/reference/published.md); none is computed by cnncalc itself, so a
wrong formula in the engine fails here. The last test runs every spec's own ``expect:`` data through
:func:`cnncalc.proof.expect.judge`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import cnncalc
from cnncalc.engine.report import Report
from cnncalc.proof.expect import judge, verify

SPECS = Path(__file__).resolve().parent.parent / "specs"


def analyze(name: str) -> Report:
    return cnncalc.analyze(SPECS / f"{name}.yaml")


# (zoo name, params, MACs at the spec's input size), each with its source.
GOLDEN = [
    # VGG16 (config D): torchvision VGG16_Weights meta num_params 138,357,544 and _ops 15.47; Keras VGG16 138,357,544;
    # MACs derived from Simonyan & Zisserman 2014 Table 1 D (published.md §1).
    pytest.param("vgg16", 138_357_544, 15_470_264_320, id="vgg16"),
    # VGG11 (config A): torchvision VGG11_Weights meta num_params; _ops 7.609 = derived 7,609,090,048 MACs.
    pytest.param("vgg11", 132_863_336, 7_609_090_048, id="vgg11"),
    # VGG A-LRN: derived from Table 1; LRN has no parameters and no MACs, so A's counts (Table 2: 133M for both).
    pytest.param("vgg11_lrn", 132_863_336, 7_609_090_048, id="vgg11_lrn"),
    # VGG13 (config B): torchvision VGG13_Weights meta num_params; _ops 11.308 = derived 11,308,466,176 MACs.
    pytest.param("vgg13", 133_047_848, 11_308_466_176, id="vgg13"),
    # VGG config C (with 1x1 convs): derived from Table 1 C (published.md §1); Table 2 prints 134M.
    pytest.param("vgg16_c", 133_638_952, 11_770_888_192, id="vgg16_c"),
    # VGG19 (config E): torchvision VGG19_Weights meta num_params (Keras VGG19 too); _ops 19.632 = derived MACs.
    pytest.param("vgg19", 143_667_240, 19_632_062_464, id="vgg19"),
    # AlexNet, cs231n single-stream version at 227x227: derived (published.md §3b).
    pytest.param("alexnet", 62_378_344, 1_135_256_096, id="alexnet"),
    # AlexNet, the paper's two-GPU network (groups=2 on conv2/4/5, = Caffe bvlc_alexnet): derived (published.md §3a).
    pytest.param("alexnet_paper", 60_965_224, 724_406_816, id="alexnet_paper"),
    # torchvision alexnet: AlexNet_Weights meta num_params 61,100,840 and _ops 0.714 = 714,188,480 MACs (§3c).
    pytest.param("alexnet_torchvision", 61_100_840, 714_188_480, id="alexnet_torchvision"),
    # ZFNet, Zeiler & Fergus 2014 Fig. 3: derived by hand (96·7·7·3+96 = 14,208; 256·5·5·96+256 = 614,656;
    # 885,120; 1,327,488; 884,992; FC 58,631,144); the paper prints no total.
    pytest.param("zfnet", 62_357_608, 1_168_032_896, id="zfnet"),
    # LeNet-5 of the PyTorch tutorial: 156 + 2,416 + 48,120 + 10,164 + 850 (published.md §6, derived);
    # MACs 117,600 + 240,000 + 48,000 + 10,080 + 840 (derived).
    pytest.param("lenet5", 61_706, 416_520, id="lenet5"),
    # cs231n two-layer net, init_two_layer_model(32*32*3, 50, 10): 3072·50+50 + 50·10+10 (derived).
    pytest.param("cs231n_two_layer", 154_160, 154_100, id="cs231n_two_layer"),
    # Today's CNNs (issue #9): params = torchvision's weights meta num_params (and sum(p.numel()) of torchvision
    # 0.29.1's model); MACs = fvcore 0.1.5's conv + linear count of that model at 3x224x224 (/work/tvdata/tools.json),
    # which rounds to the meta's _ops (0.217, 0.057, 0.145, 4.456 GFLOPS).
    pytest.param("mobilenet_v3_large", 5_483_032, 216_589_760, id="mobilenet_v3_large"),
    pytest.param("mobilenet_v3_small", 2_542_856, 56_510_400, id="mobilenet_v3_small"),
    pytest.param("shufflenet_v2", 2_278_604, 144_907_992, id="shufflenet_v2"),
    pytest.param("convnext_tiny", 28_589_128, 4_455_531_264, id="convnext_tiny"),
    # Same sources (torchvision meta num_params / _ops; torchvision 0.29.1's model measured): BN variants of VGG keep
    # the plain networks' MACs (7.609, 11.308, 15.47, 19.632 GFLOPS); SqueezeNet 0.819 / 0.349; Wide ResNet-50-2
    # 11.398; R3D-18 40.697 at 3x16x112x112.
    pytest.param("vgg11_bn", 132_868_840, 7_609_090_048, id="vgg11_bn"),
    pytest.param("vgg13_bn", 133_053_736, 11_308_466_176, id="vgg13_bn"),
    pytest.param("vgg16_bn", 138_365_992, 15_470_264_320, id="vgg16_bn"),
    pytest.param("vgg19_bn", 143_678_248, 19_632_062_464, id="vgg19_bn"),
    pytest.param("squeezenet1_0", 1_248_424, 818_924_576, id="squeezenet1_0"),
    pytest.param("squeezenet1_1", 1_235_496, 349_151_936, id="squeezenet1_1"),
    pytest.param("wide_resnet50_2", 68_883_240, 11_398_021_120, id="wide_resnet50_2"),
    pytest.param("r3d_18", 33_371_472, 40_696_553_472, id="r3d_18"),
    # Same sources: EfficientNet-B0 0.386, MNASNet 1.0 0.314 GFLOPS; the RegNet spec's defaults are RegNetY-400MF's
    # (0.402 GFLOPS); its other members are presets, below.
    pytest.param("efficientnet_b0", 5_288_548, 385_814_752, id="efficientnet_b0"),
    pytest.param("mnasnet1_0", 4_383_312, 314_415_872, id="mnasnet1_0"),
    pytest.param("regnet", 4_344_144, 401_842_848, id="regnet"),
    # Segmentation at 3x520x520, without the aux classifier: torchvision 0.29.1's fcn_resnet50 and deeplabv3_resnet50
    # (weights=None) measured, sum(p.numel()) and FlopCounterMode's convolution MACs.
    pytest.param("fcn_resnet50", 32_957_013, 142_725_772_800, id="fcn_resnet50"),
    pytest.param("deeplabv3_resnet50", 39_638_869, 168_731_205_888, id="deeplabv3_resnet50"),
    # EfficientNetV2-S at 3x384x384: torchvision weights meta num_params and _ops 8.366; the 0.29.1 model measured.
    pytest.param("efficientnet_v2_s", 21_458_488, 8_365_617_152, id="efficientnet_v2_s"),
]


@pytest.mark.parametrize(("name", "params", "macs"), GOLDEN)
def test_golden_totals(name: str, params: int, macs: int) -> None:
    report = analyze(name)
    assert report.totals.params == params
    assert report.totals.macs == macs


# RegNetX and RegNetY are one spec (specs/regnet.yaml; X is --set se=0) and torchvision's names are presets of it.
# Params: torchvision's RegNet_*_Weights meta num_params; MACs: torchvision 0.29.1's model (weights=None) under torch
# FlopCounterMode, convolution and matrix-product MACs at 3x224x224 (benchmarks/README.md's import table), which
# round to the meta's _ops: 0.414, 0.8, 1.603 (X) and 0.402, 0.834, 1.612 (Y) GFLOPS.
REGNETS = [
    pytest.param("regnet_x_400mf", 5_495_976, 413_812_608, id="regnet_x_400mf"),
    pytest.param("regnet_x_800mf", 7_259_656, 799_699_712, id="regnet_x_800mf"),
    pytest.param("regnet_x_1_6gf", 9_190_136, 1_602_849_792, id="regnet_x_1_6gf"),
    pytest.param("regnet_y_400mf", 4_344_144, 401_842_848, id="regnet_y_400mf"),
    pytest.param("regnet_y_800mf", 6_432_512, 833_856_256, id="regnet_y_800mf"),
    pytest.param("regnet_y_1_6gf", 11_202_430, 1_612_076_160, id="regnet_y_1_6gf"),
]


@pytest.mark.parametrize(("name", "params", "macs"), REGNETS)
def test_regnet_presets(name: str, params: int, macs: int) -> None:
    report = cnncalc.analyze(name)  # a preset, by the name users type
    assert report.model == name
    assert (report.totals.params, report.totals.macs) == (params, macs)


def test_regnet_x_is_y_without_squeeze_excitation() -> None:
    # torchvision's BottleneckTransform adds SqueezeExcitation only `if se_ratio`: RegNetX-400MF is the spec with
    # se=0 and X-400MF's widths, depths and group widths (torchvision regnet_x_400mf: 5,495,976 params), and no
    # layer of it is a squeeze-excitation one.
    x = cnncalc.analyze("regnet", args={"se": 0, "w1": 32, "w2": 64, "w3": 160, "w4": 400, "d2": 2, "d3": 7,
                                        "d4": 12, "g1": 16, "g2": 16, "g3": 16, "g4": 16})
    assert x.totals.params == 5_495_976
    assert not [row.name for row in x.layers if "/se_" in row.name]
    # RegNetY-400MF's first block: SE width int(round(0.25 * 32)) = 8 (the stem's 32 channels go in), then
    # round(0.25 * 48) = 12 inside stage 1 (torchvision regnet.py, width_se_out).
    y = cnncalc.analyze("regnet")
    se1 = {row.name: row.output_shape[0] for row in y.layers if row.name.endswith("se_fc1")}
    assert se1["trunk_block1_0/add/b1/se_fc1"] == 8
    assert se1["trunk_block2_0/add/b1/se_fc1"] == 12


def test_every_preset_is_verified_by_its_spec() -> None:
    # Each preset's --set values are one of its spec's expect entries (so `cnncalc verify` checks every preset
    # against its published figures), and no preset hides a spec file of the same name.
    import yaml

    from cnncalc.spec import zoo

    assert zoo.presets(), "the zoo has presets"
    for name, preset in zoo.presets().items():
        assert name not in zoo.names()
        defaults = yaml.safe_load(zoo.path(preset.spec).read_text(encoding="utf-8"))["args"]
        entries = [{**defaults, **e.args} for e in cnncalc.load(preset.spec).expect]
        assert {**defaults, **preset.args} in entries, name


def test_a_preset_takes_further_set_values() -> None:
    # --set on a preset overrides its own values: RegNetX-400MF with the Y ratio is no torchvision model, but its
    # parameters grow by the SE convolutions only (params of a preset ≠ the preset with se=0.25).
    plain = cnncalc.analyze("regnet_x_400mf")
    with_se = cnncalc.analyze("regnet_x_400mf", args={"se": 0.25})
    assert with_se.totals.params > plain.totals.params == 5_495_976


def test_every_zoo_network_has_a_golden_total() -> None:
    golden = {p.values[0] for p in GOLDEN}
    mine = {
        "lenet5", "alexnet", "alexnet_paper", "alexnet_torchvision", "zfnet", "vgg11", "vgg11_lrn", "vgg13",
        "vgg16", "vgg16_c", "vgg19", "cs231n_two_layer",
    }
    assert mine <= golden
    assert all((SPECS / f"{name}.yaml").is_file() for name in mine)


def test_vgg16_cs231n_walkthrough() -> None:
    report = analyze("vgg16")
    # cs231n "VGGNet in detail": the memory rows (input 150,528 + every conv/pool/FC output) sum to 15,237,608
    # (derived; the page's "24M" is erratum cs231n/cs231n.github.io#88).
    assert report.totals.activations == 15_237_608
    # The listed weights (without biases) sum to 138,344,128 (derived from the cs231n rows; Table 1 D).
    assert report.totals.params - sum(row.biases for row in report.layers) == 138_344_128
    # cs231n rows: CONV3-64 [224x224x64] memory 224*224*64, params (3*3*3)*64 = 1,728.
    conv1_1 = report.layer("conv1_1")
    assert conv1_1.output_shape == (64, 224, 224)
    assert conv1_1.activations == 3_211_264
    assert conv1_1.params - conv1_1.biases == 1_728
    # cs231n: FC [1x1x4096] params 7*7*512*4096 = 102,760,448.
    fc6 = report.layer("fc6")
    assert fc6.params - fc6.biases == 102_760_448


def test_vgg16_receptive_field() -> None:
    # Araujo, Norris, Sim, Distill 2019, table: vgg_16 RF 212, effective stride 32.
    pool5 = analyze("vgg16").layer("pool5")
    assert pool5.receptive_field == (212, 212)
    assert pool5.jump == (32, 32)
    # published.md §8, derived sequence: 3, 5, 6, 10, 14, 16, 24, ... at the first layers.
    report = analyze("vgg16")
    firsts = [report.layer(n).receptive_field for n in ("conv1_1", "conv1_2", "pool1", "conv2_1")]
    assert firsts == [(3, 3), (5, 5), (6, 6), (10, 10)]


@pytest.mark.parametrize(
    ("name", "pool"), [("alexnet", "pool3"), ("alexnet_paper", "pool5"), ("alexnet_torchvision", "pool5")]
)
def test_alexnet_receptive_field(name: str, pool: str) -> None:
    # Araujo et al. 2019 table: alexnet_v2 RF 195, effective stride 32 (same kernel/stride sequence);
    # derived 11, 19, 51, 67, 99, 131, 163, 195 (published.md §8).
    row = analyze(name).layer(pool)
    assert row.receptive_field == (195, 195)
    assert row.jump == (32, 32)


def test_alexnet_conv1_cs231n() -> None:
    # cs231n notes, "Real-world example": [227x227x3] → [55x55x96]; "96*11*11*3 = 34,848 unique weights, or 34,944
    # parameters"; "55*55*96 = 290,400 neurons".
    conv1 = analyze("alexnet").layer("conv1")
    assert conv1.output_shape == (96, 55, 55)
    assert conv1.params == 34_944
    assert conv1.params - conv1.biases == 34_848
    assert conv1.activations == 290_400


def test_alexnet_paper_grouped_layers() -> None:
    # Krizhevsky et al. 2012 Sec. 3.5: conv2 "256 kernels of size 5x5x48", conv4 "384 kernels of size 3x3x192";
    # params derived (published.md §3a): 256·5·5·48 + 256 = 307,456; 384·3·3·192 + 384 = 663,936.
    report = analyze("alexnet_paper")
    assert report.layer("conv2").params == 307_456
    assert report.layer("conv4").params == 663_936
    # Fig. 2 caption: 186,624 neurons in layer 2 (27x27x256) and 43,264 in layer 5 (13x13x256).
    assert report.layer("conv2").activations == 186_624
    assert report.layer("conv5").activations == 43_264


def test_alexnet_torchvision_layers() -> None:
    # published.md §3c, derived per layer from torchvision/models/alexnet.py.
    report = analyze("alexnet_torchvision")
    assert [report.layer(f"conv{i}").params for i in range(1, 6)] == [23_296, 307_392, 663_936, 884_992, 590_080]
    assert report.layer("avgpool").output_shape == (256, 6, 6)


def test_zfnet_map_sizes() -> None:
    # Zeiler & Fergus 2014, Fig. 3: 224 → 110 → 55 → 26 → 13, then 13, 13, 13 → 6, and 6·6·256 = 9216 FC inputs.
    report = analyze("zfnet")
    names = ("conv1", "pool1", "conv2", "pool2", "conv3", "conv4", "conv5", "pool5")
    sizes = [report.layer(n).output_shape for n in names]
    assert sizes == [
        (96, 110, 110), (96, 55, 55), (256, 26, 26), (256, 13, 13),
        (384, 13, 13), (384, 13, 13), (256, 13, 13), (256, 6, 6),
    ]
    assert report.layer("fc6").params == 9216 * 4096 + 4096


def test_lenet5_layers() -> None:
    # LeCun et al. 1998 Sec. II.B: C1 has 6 maps of 28x28 and 156 trainable parameters; C5 48,120; F6 10,164.
    report = analyze("lenet5")
    assert report.layer("conv1").output_shape == (6, 28, 28)
    assert report.layer("conv1").params == 156
    assert report.layer("fc1").params == 48_120
    assert report.layer("fc2").params == 10_164
    assert report.output_shape == (10,)


def test_vgg16_c_one_by_one() -> None:
    # Table 1 C: conv1-256 after block 3's two conv3-256; params 256·256 + 256 = 65,792 (derived).
    row = analyze("vgg16_c").layer("conv3_3")
    assert row.output_shape == (256, 56, 56)
    assert row.params == 65_792


def _verdicts(name: str, what: str) -> list[str]:
    net = cnncalc.load(SPECS / f"{name}.yaml")
    report = cnncalc.analyze(net)
    return [c.status for entry in net.expect for c in judge(report, entry) if c.what == what]


def test_known_errata_stay_errata() -> None:
    # cs231n's "24M" is not reproducible (the rows sum to 15,237,608, cs231n/cs231n.github.io#88): an erratum, and
    # the exact derived sum passes.
    assert _verdicts("vgg16", "activations") == ["erratum", "pass"]
    # AlexNet Fig. 2's first neuron count 253,440 is not 55·55·96 = 290,400; the others (186,624, ...) hold.
    assert _verdicts("alexnet_paper", "conv1.activations") == ["erratum"]
    assert _verdicts("alexnet_paper", "conv2.activations") == ["pass"]


@pytest.mark.parametrize("path", sorted(SPECS.glob("*.yaml")), ids=lambda p: p.stem)
def test_spec_expectations(path: Path) -> None:
    _, results = verify(path)
    failures = [
        f"[{i}] {c.what}: {c.note}" for i, result in enumerate(results) for c in result.checks if c.status == "fail"
    ]
    assert not failures, "\n".join(failures)
