"""Import every torchvision classification, segmentation and video model with ``cnncalc.from_torch`` (development
measurement, never CI: needs torchvision, which no test or CI job installs).

For each model (weights=None, built on the meta device, eval mode, batch 1; googlenet and inception_v3 with
aux_logits=False): imported fully or with opaque nodes, cnncalc's parameters against
``sum(p.numel())``, cnncalc's MACs against the convolution and matrix-product MACs torch's ``FlopCounterMode`` counts
(FLOPs / 2: fvcore's conv + linear/addmm/matmul count, measured on the same model), and the import's seconds.

    PYTHONPATH=. /path/to/venv-with-torchvision/bin/python benchmarks/torchvision_import.py [name ...] > table.md
"""

from __future__ import annotations

import sys
import time
import warnings
from typing import Any

import torch
import torchvision
from torch.utils.flop_counter import FlopCounterMode

import cnncalc

#: torchvision's documented inputs where 224x224 is not it: Inception 299; video 16 frames of 112 (MViT and S3D
#: need 224: their windows and final pools do not fit 112).
SHAPES = {"inception_v3": (3, 299, 299), "video": (3, 16, 112, 112), "mvit_v1_b": (3, 16, 224, 224),
          "mvit_v2_s": (3, 16, 224, 224), "s3d": (3, 16, 224, 224)}
#: torchvision's FlopCounterMode ops that are convolutions or matrix products (fvcore's conv + linear + matmul).
PRODUCTS = ("convolution", "mm", "addmm", "bmm", "baddbmm", "_scaled_dot_product")


def reference_macs(model: Any, shape: tuple[int, ...]) -> int:
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(torch.zeros(1, *shape, device="meta"))
    flops = counter.get_flop_counts()["Global"]
    return sum(int(n) for op, n in flops.items() if any(str(op).split(".")[1].startswith(p) for p in PRODUCTS)) // 2


def row(name: str, family: str) -> str:
    shape = SHAPES.get(name) or SHAPES.get(family) or (3, 224, 224)
    kwargs: dict[str, Any] = {"weights": None}
    if name in ("googlenet", "inception_v3"):
        kwargs.update(init_weights=False, aux_logits=False)  # as `cnncalc import ... --arg aux_logits=false`
    if family == "segmentation":
        kwargs["weights_backbone"] = None  # no download
    try:
        with torch.device("meta"):  # no memory and no initialisation: shapes and counts only
            model = torchvision.models.get_model(name, **kwargs).eval()
    except NotImplementedError:  # a constructor that reads values (regnet's width rounding): build, then move
        model = torchvision.models.get_model(name, **kwargs).eval().to("meta")
    held = sum(p.numel() for p in model.parameters())
    start = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            spec = cnncalc.from_torch(model, shape, name=name)
    except Exception as err:  # a row for every model, whatever happened
        return f"| {name} | {family} | error: {str(err).splitlines()[0][:90]} | | {held:,} | | | |"
    seconds = time.perf_counter() - start
    report = cnncalc.analyze(spec)
    opaque = [layer for layer in spec["layers"] if layer["type"] == "opaque"]
    kinds = sorted({str(layer["module"]) for layer in opaque})
    status = "fully" if not opaque else f"{len(opaque)} opaque ({', '.join(kinds)[:80]})"
    try:
        ref = reference_macs(model, shape)
    except Exception as err:  # torch's own counter failing is not cnncalc's row to lose
        return (f"| {name} | {family} | {status} | {report.totals.params:,} | {held:,} | {report.totals.macs:,} | "
                f"FlopCounterMode failed: {type(err).__name__} | {seconds:.2f} |")
    params_ok = "=" if report.totals.params == held else "≠"
    macs_ok = "=" if report.totals.macs == ref else "≠"
    return (f"| {name} | {family} | {status} | {report.totals.params:,} {params_ok} | {held:,} | "
            f"{report.totals.macs:,} {macs_ok} | {ref:,} | {seconds:.2f} |")


def main(names: list[str]) -> None:
    torch.set_num_threads(1)
    families = {"classification": torchvision.models, "segmentation": torchvision.models.segmentation,
                "video": torchvision.models.video}
    print("| model | kind | imported | cnncalc params | sum(p.numel()) | cnncalc MACs | conv+matmul MACs (torch) "
          "| import s |")
    print("|---|---|---|---:|---:|---:|---:|---:|")
    for family, module in families.items():
        for name in torchvision.models.list_models(module=module):
            if names and name not in names:
                continue
            print(row(name, family), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
