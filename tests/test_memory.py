"""``cnncalc memory`` and ``fit`` without torch: liveness worked by hand, properties over the zoo, the CLI contract.

The measured agreement with torch is in tests/test_memory_torch.py; here the walk's rules are checked on networks
small enough to follow on paper.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import Result

import cnncalc
from cnncalc.engine.memory import MemoryReport, analyze_memory
from cnncalc.errors import SpecError
from cnncalc.spec import zoo

Cli = Callable[..., Result]


def tiny(inplace: bool = False) -> dict[str, Any]:
    """1×4×4 input → 1×1 conv to 2 maps → ReLU → 1×1 conv to 1 map (fp32: 64 B input, 16 + 12 B parameters)."""
    return {"name": "tiny", "input": [1, 4, 4], "layers": [
        {"type": "conv2d", "name": "c1", "out_channels": 2, "kernel_size": 1},
        {"type": "relu", "name": "r", "inplace": inplace},
        {"type": "conv2d", "name": "c2", "out_channels": 1, "kernel_size": 1},
    ]}


def memory(spec: Any, **options: Any) -> MemoryReport:
    batch = options.pop("batch", 1)
    return analyze_memory(cnncalc.analyze(spec, batch=batch), **options)


def test_inference_peak_by_liveness_worked_by_hand() -> None:
    # Base: input 16 values + parameters 4 + 3, fp32 = 92 B. c1 adds 128 B (220), r another 128 B (348) while c1's
    # output is still read; then c1's output is dead (220) and c2 adds 64 B (284). Peak 348 B at r.
    mem = memory(tiny())
    assert (mem.param_bytes, mem.input_bytes, mem.buffer_bytes) == (28, 64, 0)
    assert [p.live_bytes for p in mem.inference.timeline] == [220, 348, 284]
    assert (mem.inference.peak_bytes, mem.inference.peak_layer) == (348, "r")
    assert mem.inference.alive == ("input", "c1", "r")
    assert mem.naive_bytes == (16 + 32 + 32 + 16) * 4  # the main table's sum, for comparison


def test_an_inplace_activation_allocates_nothing() -> None:
    mem = memory(tiny(inplace=True))
    assert [p.live_bytes for p in mem.inference.timeline] == [220, 220, 284]
    assert mem.inference.peak_bytes == 284


def test_training_step_worked_by_hand() -> None:
    # Forward (training): c1 128 B (220), r 128 B (348), c1's output freed (220: r keeps its own output, c2 reads
    # it), c2's 64 B output freed after out.sum(): 128 B saved. Backward: the loss gradient 4 B (224); c2 allocates
    # r's gradient 128 B and its weight gradients 12 B (364), then frees the loss gradient (360); r's backward
    # allocates c1's output gradient 128 B (488: the peak), then frees its incoming gradient and its saved output
    # (232); c1 allocates its weight gradients 16 B (248) and frees its incoming gradient (120). SGD with momentum
    # clones the 28 B of gradients (148).
    step = memory(tiny(), train=True, optimizer="sgd", momentum=0.9).training
    assert step is not None
    assert [p.live_bytes for p in step.timeline] == [220, 348, 284, 364, 488, 248, 148]
    assert (step.peak_bytes, step.peak_phase, step.peak_layer) == (488, "backward", "r")
    assert (step.saved_activation_bytes, step.grad_bytes, step.optimizer_state_bytes) == (128, 28, 28)


@pytest.mark.parametrize(("optimizer", "momentum", "state"), [("sgd", 0.0, 0), ("sgd", 0.9, 1), ("adam", 0.9, 2),
                                                               ("adamw", 0.0, 2)])
def test_optimizer_state_is_a_multiple_of_the_trainable_parameters(optimizer: Any, momentum: float,
                                                                   state: int) -> None:
    step = memory("resnet18", train=True, optimizer=optimizer, momentum=momentum).training
    assert step is not None
    assert step.optimizer_state_bytes == state * 11_689_512 * 4  # torchvision's resnet18 parameter count
    assert step.grad_bytes == 11_689_512 * 4


@pytest.mark.parametrize("name", zoo.names())
def test_peak_lies_between_the_largest_layer_and_the_naive_sum(name: str) -> None:
    report = cnncalc.analyze(name, batch=2)
    mem = analyze_memory(report)
    base = mem.param_bytes + mem.buffer_bytes + mem.input_bytes
    largest = max(row.activation_bytes for row in report.layers)
    assert base + largest <= mem.inference.peak_bytes
    workspace = mem.inference.workspace_bytes
    assert mem.inference.peak_bytes <= base + report.totals.activation_bytes + workspace
    assert len(mem.inference.timeline) == len(report.layers)


def test_training_needs_more_than_inference_and_amp_and_checkpointing_need_less() -> None:
    report = cnncalc.analyze("resnet18", batch=8)
    plain = analyze_memory(report, train=True).training
    half = analyze_memory(report, train=True, amp="bf16").training
    ckpt = analyze_memory(report, train=True, checkpoint=("basic",)).training  # every block
    assert plain and half and ckpt
    assert plain.peak_bytes > analyze_memory(report).inference.peak_bytes
    # int64 indices stay 8 bytes, and autocast's bf16 weight copies are saved too
    assert half.saved_activation_bytes < 0.7 * plain.saved_activation_bytes
    assert half.peak_bytes < plain.peak_bytes
    assert ckpt.saved_activation_bytes < 0.6 * plain.saved_activation_bytes  # the stem is not checkpointed


def test_batch_override_equals_a_fresh_analysis() -> None:
    one = cnncalc.analyze("mobilenet_v2")
    assert analyze_memory(one, batch=6, train=True).to_dict() == \
        analyze_memory(cnncalc.analyze("mobilenet_v2", batch=6), train=True).to_dict()


def test_unknown_checkpoint_block_and_optimizer_are_errors() -> None:
    with pytest.raises(SpecError, match="no such block"):
        memory("resnet18", train=True, checkpoint=("layer9",))
    with pytest.raises(SpecError, match="optimizer"):
        memory("resnet18", train=True, optimizer="lion")


def test_json_contract(cli: Cli) -> None:
    result = cli("memory", "vgg16", "--batch", "2", "--train", "--optimizer", "adam", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    keys = {"model", "batch", "dtype", "param_bytes", "buffer_bytes", "input_bytes", "inference", "training"}
    assert keys <= set(data)
    assert {"peak_bytes", "peak_layer", "timeline"} <= set(data["inference"])
    assert set(data["inference"]["timeline"][0]) == {"layer", "live_bytes"}
    assert {"optimizer", "peak_bytes", "peak_phase", "grad_bytes", "optimizer_state_bytes",
            "saved_activation_bytes"} <= set(data["training"])
    assert data["param_bytes"] == 138_357_544 * 4  # VGG16's parameters (Simonyan & Zisserman, Table 2: 138M)
    assert data["training"]["optimizer_state_bytes"] == 2 * data["param_bytes"]
    assert "training" not in json.loads(cli("memory", "vgg16", "--format", "json").output)


def test_memory_text_names_the_peaks(cli: Cli) -> None:
    result = cli("memory", "resnet18", "--train")
    assert result.exit_code == 0
    for words in ("Naive sum", "Inference", "at layer", "Training step", "sgd (momentum 0.9)", "backward"):
        assert words in result.output


def test_train_options_need_train(cli: Cli) -> None:
    result = cli("memory", "resnet18", "--amp", "bf16")
    assert result.exit_code == 2
    assert "--train" in result.output


def test_fit_finds_the_largest_batch(cli: Cli) -> None:
    result = cli("fit", "resnet18", "--memory", "4GiB", "--train", "--optimizer", "adam", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["memory_bytes"] == 4 * 2**30
    assert data["peak_bytes"] <= data["memory_bytes"] < data["peak_bytes_next"]
    step = analyze_memory(cnncalc.analyze("resnet18", batch=data["batch"]), train=True, optimizer="adam").training
    assert step is not None and step.peak_bytes == data["peak_bytes"]


def test_fit_searches_the_resolution(cli: Cli) -> None:
    data = json.loads(cli("fit", "resnet18", "--memory", "1GB", "--resolution", "--batch", "8", "--format",
                          "json").output)
    size = data["resolution"]["size"]
    fits = analyze_memory(cnncalc.analyze("resnet18", batch=8, input_shape=(3, size, size))).inference.peak_bytes
    over = analyze_memory(cnncalc.analyze("resnet18", batch=8, input_shape=(3, size + 1, size + 1)))
    assert fits <= 10**9 < over.inference.peak_bytes


def test_fit_exits_1_when_nothing_fits(cli: Cli) -> None:
    result = cli("fit", "vgg16", "--memory", "100MB")
    assert result.exit_code == 1
    assert "not even batch 1" in result.output


@pytest.mark.parametrize("text", ["lots", "16 parsecs", ""])
def test_fit_rejects_unreadable_sizes(cli: Cli, text: str) -> None:
    result = cli("fit", "vgg16", "--memory", text)
    assert result.exit_code == 2
    assert "--memory" in result.output


def test_table_footer_shows_the_peak_beside_the_naive_sum(cli: Cli) -> None:
    out = cli("vgg16").output
    assert "naive sum" in out
    peak = analyze_memory(cnncalc.analyze("vgg16")).inference
    assert f"Peak memory  {peak.peak_bytes / 1e6:.4g} MB at {peak.peak_layer}" in out
