"""Golden figures for the zoo's decoders and dense-prediction networks: U-Net, a convolutional autoencoder,
DeconvNet, ESPCN and the dilated context module.

Shapes are the ones the papers print (U-Net Fig. 1, DeconvNet Table 1, ESPCN's r·H, Yu & Koltun Table 1); the
totals are derived by hand from each architecture (arithmetic in the comments), never computed by cnncalc.
tests/test_zoo.py runs every spec's own ``expect:`` data as well.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import cnncalc
from cnncalc.engine.report import Report

SPECS = Path(__file__).resolve().parent.parent / "specs"


def analyze(name: str, input_shape: tuple[int, ...] | None = None) -> Report:
    return cnncalc.analyze(SPECS / f"{name}.yaml", input_shape=input_shape)


GOLDEN = [
    # U-Net (Ronneberger et al. 2015, Fig. 1): 1x572x572 → 2x388x388. Params (C_out·C_in·9 + C_out per 3x3 conv,
    # C_in·C_out·4 + C_out per up-conv): contracting 640 + 36,928 + 73,856 + 147,584 + 295,168 + 590,080 +
    # 1,180,160 + 2,359,808 + 4,719,616 + 9,438,208 = 18,842,048; expansive 2,097,664 + 4,719,104 + 2,359,808 +
    # 524,544 + 1,179,904 + 590,080 + 131,200 + 295,040 + 147,584 + 32,832 + 73,792 + 36,928 + 130 = 12,188,610.
    # MACs summed layer by layer (e.g. conv1_2: 64·568²·64·9 = 11,893,211,136).
    pytest.param("unet", (2, 388, 388), 31_030_658, 150_428_424_448, id="unet"),
    # Autoencoder (Loeber's notebook): 160 + 4,640 + 100,416 + 100,384 + 4,624 + 145 = 210,369 params;
    # MACs 28,224 + 225,792 + 100,352 + 100,352 + 225,792 + 28,224 = 708,736.
    pytest.param("autoencoder", (1, 28, 28), 210_369, 708_736, id="autoencoder"),
    # DeconvNet (Noh et al. 2015): VGG16 convs 14,714,688 + fc6 102,764,544 + fc7 16,781,312 + deconv-fc6
    # 102,760,960 + deconv5 7,079,424 + deconv4 5,899,520 + deconv3 1,475,200 + deconv2 221,376 + deconv1 73,856 +
    # score 1,365 = 251,772,245, plus batch norm 2·16,704 = 33,408 → 251,805,653.
    pytest.param("deconvnet", (21, 224, 224), 251_805_653, 32_745_979_904, id="deconvnet"),
    # ESPCN (Shi et al. 2016), r = 3 on 1x85x85: 1,664 + 18,464 + 2,601 = 22,729 params; MACs 7,225 positions ·
    # (64·25 + 32·576 + 9·288) = 7,225 · 22,624 = 163,458,400.
    pytest.param("espcn", (1, 255, 255), 22_729, 163_458_400, id="espcn"),
    # Dilated context module (Yu & Koltun 2016), C = 21 at 64x64: 7·(21·9·21 + 21) + 21·21 + 21 = 7·3,990 + 462 =
    # 28,392 params; MACs 64·64·21·(7·189 + 21) = 86,016·1,344 = 115,605,504.
    pytest.param("dilated_context", (21, 64, 64), 28_392, 115_605_504, id="dilated_context"),
]


@pytest.mark.parametrize(("name", "shape", "params", "macs"), GOLDEN)
def test_golden(name: str, shape: tuple[int, ...], params: int, macs: int) -> None:
    report = analyze(name)
    assert report.output_shape == shape
    assert report.totals.params == params
    assert report.totals.macs == macs


# --------------------------------------------------------------------------------------------------------------
# U-Net.


def test_unet_output_is_388x388() -> None:
    # Fig. 1: "output segmentation map" 388 x 388 x 2 for a 572 x 572 input tile.
    assert analyze("unet").output_shape == (2, 388, 388)


def test_unet_has_23_convolutional_layers() -> None:
    # Sec. 2: "In total the network has 23 convolutional layers": 18 3x3 convs, 4 up-convs, the final 1x1.
    types = [row.type for row in analyze("unet").layers]
    assert types.count("conv2d") == 19
    assert types.count("conv_transpose2d") == 4


@pytest.mark.parametrize(
    ("stage", "skip", "cropped", "joined"),
    [
        # Fig. 1: copy and crop 64 → 56, 136 → 104, 280 → 200, 568 → 392, then concatenate.
        pytest.param("dec4", (512, 64, 64), (512, 56, 56), (1024, 56, 56), id="dec4:64->56"),
        pytest.param("dec3", (256, 136, 136), (256, 104, 104), (512, 104, 104), id="dec3:136->104"),
        pytest.param("dec2", (128, 280, 280), (128, 200, 200), (256, 200, 200), id="dec2:280->200"),
        pytest.param("dec1", (64, 568, 568), (64, 392, 392), (128, 392, 392), id="dec1:568->392"),
    ],
)
def test_unet_crop_and_concatenate(stage: str, skip: tuple[int, ...], cropped: tuple[int, ...],
                                   joined: tuple[int, ...]) -> None:
    report = analyze("unet")
    crop = report.layer(f"{stage}/crop")
    assert report.layer(crop.inputs[0]).output_shape == skip
    assert crop.output_shape == cropped == report.layer(f"{stage}/upconv").output_shape
    assert crop.activation_bytes == 0  # a view
    assert report.layer(f"{stage}/concat").output_shape == joined
    assert not report.layer(f"{stage}/concat").notes  # the crop keeps the two paths aligned


def test_unet_up_convs_halve_the_channels() -> None:
    # "a 2x2 convolution ("up-convolution") that halves the number of feature channels": 1024 → 512 → … → 64,
    # with params C_in·C_out·4 + C_out: 2,097,664; 524,544; 131,200; 32,832.
    report = analyze("unet")
    rows = [report.layer(f"dec{i}/upconv") for i in (4, 3, 2, 1)]
    assert [r.output_shape[0] for r in rows] == [512, 256, 128, 64]
    assert [r.params for r in rows] == [2_097_664, 524_544, 131_200, 32_832]


def test_unet_receptive_field() -> None:
    assert analyze("unet").layer("final").receptive_field == (204, 204)


# --------------------------------------------------------------------------------------------------------------
# Autoencoder.


def test_autoencoder_reconstructs_the_input_shape() -> None:
    report = analyze("autoencoder")
    assert report.output_shape == report.input == (1, 28, 28)
    assert report.layer("enc3").output_shape == (64, 1, 1)  # the 64-number embedding


@pytest.mark.parametrize(("enc", "dec"), [("enc1", "dec3"), ("enc2", "dec2"), ("enc3", "dec1")])
def test_autoencoder_decoder_mirrors_the_encoder(enc: str, dec: str) -> None:
    # A transposed conv with the encoder conv's hyperparameters has the same weights (C_in·C_out·K) and the same
    # MACs (its input is the conv's output): e.g. enc2 32·7·7·16·9 = 225,792 = dec2 32·49·16·9.
    report = analyze("autoencoder")
    e, d = report.layer(enc), report.layer(dec)
    assert e.params - e.biases == d.params - d.biases
    assert e.macs == d.macs


# --------------------------------------------------------------------------------------------------------------
# DeconvNet.


@pytest.mark.parametrize("stage", [1, 2, 3, 4, 5])
def test_deconvnet_unpooling_restores_each_pool_input(stage: int) -> None:
    # Table 1: unpool5 14x14x512, unpool4 28x28x512, unpool3 56x56x256, unpool2 112x112x128, unpool1 224x224x64:
    # each unpooling layer gives back the size its pool took in.
    report = analyze("deconvnet")
    pool = report.layer(f"pool{stage}")
    before_pool = report.layer(pool.inputs[0]).output_shape
    unpool = report.layer(f"unpool{stage}")
    assert unpool.output_shape == before_pool
    assert unpool.output_shape[1] == 2 * pool.output_shape[1]
    assert unpool.params == unpool.macs == 0


def test_deconvnet_bottleneck_and_output() -> None:
    # Table 1: fc6 (7x7 conv, no padding) 1x1x4096, fc7 1x1x4096, deconv-fc6 (7x7 transposed) 7x7x512, and the
    # output 224x224x21; fc6 and deconv-fc6 each have 512·49·4096 = 102,760,448 weights (+ 4,096 or 512 biases).
    report = analyze("deconvnet")
    assert report.layer("fc6").output_shape == (4096, 1, 1)
    assert report.layer("deconv_fc6").output_shape == (512, 7, 7)
    assert report.layer("fc6").params == 102_764_544
    assert report.layer("deconv_fc6").params == 102_760_960
    assert report.output_shape == (21, 224, 224)
    assert report.totals.buffers == 33_437  # 2·16,704 running statistics + 29 batch counters (torch's buffers)


# --------------------------------------------------------------------------------------------------------------
# ESPCN.


@pytest.mark.parametrize(
    "size",
    [
        pytest.param((85, 85), id="85x85->255x255"),
        pytest.param((17, 17), id="paper-LR-patch:17->51"),
        pytest.param((120, 80), id="120x80->360x240"),
    ],
)
def test_espcn_output_is_r_times_the_input(size: tuple[int, int]) -> None:
    # Sec. 2.2: the periodic shuffle maps H x W x C·r² to rH x rW x C; r = 3, C = 1; padded convs keep H x W.
    report = analyze("espcn", input_shape=(1, *size))
    assert report.output_shape == (1, 3 * size[0], 3 * size[1])
    assert report.layer("conv3").output_shape == (9, *size)  # r²·C channels at the low resolution
    assert report.totals.params == 22_729  # independent of the image size


def test_espcn_runs_its_convolutions_at_low_resolution() -> None:
    # All MACs happen before the shuffle, at 85x85: 7,225 · 22,624 = 163,458,400; the shuffle only moves data.
    report = analyze("espcn")
    assert report.layer("shuffle").macs == report.layer("shuffle").flops == 0
    assert sum(report.layer(f"conv{i}").macs for i in (1, 2, 3)) == 163_458_400
    assert report.layer("shuffle").receptive_field == (9, 9)  # 5 + 2 + 2 LR pixels


# --------------------------------------------------------------------------------------------------------------
# Dilated convolutions.


def test_context_module_receptive_fields() -> None:
    # Yu & Koltun 2016, Table 1: 3x3, 5x5, 9x9, 17x17, 33x33, 65x65, 67x67, 67x67 (each 3x3 layer with dilation d
    # adds 2d: 1 + 2, + 2, + 4, + 8, + 16, + 32, + 2, + 0).
    report = analyze("dilated_context")
    fields = [report.layer(f"ctx{i}").receptive_field for i in range(1, 9)]
    assert fields == [(3, 3), (5, 5), (9, 9), (17, 17), (33, 33), (65, 65), (67, 67), (67, 67)]
    assert all(report.layer(f"ctx{i}").output_shape == (21, 64, 64) for i in range(1, 9))  # padding = dilation


def test_context_module_weights_are_64_c_squared() -> None:
    # Seven 3x3xC→C convolutions and one 1x1xC→C: 7·9·C² + C² = 64C² weights; C = 21 → 28,224.
    report = analyze("dilated_context")
    assert report.totals.params - sum(row.biases for row in report.layers) == 64 * 21 * 21


def test_lecture_notes_dilated_stack() -> None:
    # Lecture notes / Yu & Koltun Fig. 1: F1 by a 1-dilated 3x3 conv → 3x3, F2 by a 2-dilated → 7x7, F3 by a
    # 4-dilated → 15x15, i.e. (2^(i+2) − 1); "the number of parameters associated with each layer is identical".
    report = cnncalc.analyze({
        "input": [1, 32, 32],
        "layers": [{"type": "conv2d", "name": f"f{i + 1}", "out_channels": 1, "kernel_size": 3, "dilation": d,
                    "padding": d} for i, d in enumerate((1, 2, 4))],
    })
    rows = [report.layer(f"f{i}") for i in (1, 2, 3)]
    assert [r.receptive_field for r in rows] == [(3, 3), (7, 7), (15, 15)]
    assert [r.receptive_field for r in rows] == [(2 ** (i + 2) - 1,) * 2 for i in range(3)]
    assert len({r.params for r in rows}) == 1  # 9 + 1 each
