"""The HTML report (issue #13): self-contained, one diagram node per layer, a sane layout; checked in a browser.

Browser tests drive a real headless Chromium (marked ``browser``: skipped without one, failed under
``CNNCALC_REQUIRE_BROWSER=1``): the page must render its text, draw every layer's node with a size, and produce a
screenshot that is not blank. PNGs are decoded here with zlib alone, so the tests need no imaging library.
"""

from __future__ import annotations

import json
import re
import struct
import subprocess
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from cnncalc.engine.compare import compare
from cnncalc.engine.graph import analyze
from cnncalc.render.diagram import place, sections
from cnncalc.render.html import render
from cnncalc.render.text import Options
from cnncalc.spec import zoo

CLI = Callable[..., Result]
NODE = re.compile(r'<g class="node[^"]*" data-layer="([^"]*)"')


def _html(model: str) -> str:
    return render(analyze(model), Options())


@pytest.mark.parametrize("model", zoo.names())
def test_one_diagram_node_per_layer_in_execution_order(model: str) -> None:
    report = analyze(model)
    html = render(report, Options())
    assert NODE.findall(html) == [row.name for row in report.layers]
    assert html.count("data-layer=") == len(report.layers)  # nothing else carries the attribute


def test_names_and_text_are_escaped() -> None:
    report = analyze({"name": "x<y>", "description": "<script>alert(1)</script>", "input": [3, 8, 8],
                      "layers": [{"type": "conv2d", "name": 'c<"1">', "out_channels": 4, "kernel_size": 3}]})
    html = render(report, Options())
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)" in html
    assert NODE.findall(html) == ["c&lt;&quot;1&quot;&gt;"]


def test_networks_without_blocks_or_spatial_dims_render() -> None:
    for spec in ({"name": "mlp", "input": [5], "layers": [{"type": "linear", "out_features": 2}]},
                 "3x16: conv3-4 maxpool2 fc-3"):
        html = render(analyze(spec), Options())
        assert html.count("data-layer=") == len(analyze(spec).layers)


def test_the_page_is_self_contained() -> None:
    html = _html("resnet18")
    assert html.startswith("<!DOCTYPE html>")
    # No stylesheet, script, font or image is fetched: the only URL is the SVG namespace, which is never loaded.
    urls = set(re.findall(r"https?://[^\s\"')]+", html))
    assert urls == {"http://www.w3.org/2000/svg"}
    assert not re.search(r"<link|<img|@import|src=", html)


def test_the_report_is_deterministic_and_small_enough_for_the_deepest_zoo_networks() -> None:
    assert _html("vgg16") == _html("vgg16")
    # ResNet-152 (515 layers) and DenseNet-121 (427) must stay a file one opens without waiting.
    assert len(_html("resnet152").encode()) < 1_000_000
    assert len(_html("densenet121").encode()) < 1_000_000


def test_the_page_carries_the_figures_and_folds_large_networks() -> None:
    html = _html("vgg16")
    # torchvision's model docs: VGG16 has 138,357,544 parameters.
    assert "138,357,544" in html and "<h1>vgg16</h1>" in html
    assert 'class="block" open' not in _html("resnet152")  # 515 layers: blocks start folded
    assert 'class="block" open' in _html("resnet18")


@pytest.mark.parametrize("model", zoo.names())
def test_layout_edges_run_downwards_and_no_two_layers_share_a_cell(model: str) -> None:
    report = analyze(model)
    previous: str | None = "input"
    for section in sections(report):
        layout = place(section, previous, "chw")
        cells = [(p.lane, p.level) for p in layout.items.values()]
        assert len(cells) == len(set(cells)), f"{model}: two items in one cell"
        for a, b in layout.edges:
            assert layout.items[a].level < layout.items[b].level, f"{model}: edge {a} → {b} does not run down"
        previous = section.rows[-1].name
    assert sum(len(s.rows) for s in sections(report)) == len(report.layers)


def test_show_writes_html_to_a_file_or_stdout(cli: CLI, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = cli("lenet5", "--format", "html", "-o", str(out))
    assert result.exit_code == 0 and result.stdout == ""
    assert result.stderr.startswith(f"wrote {out}")
    assert out.read_text(encoding="utf-8") == cli("lenet5", "--format", "html").stdout
    result = cli("lenet5", "-o", str(tmp_path / "no" / "such" / "dir.txt"))
    assert result.exit_code == 2 and "cannot write" in result.stderr


def test_compare_page_has_one_mark_per_network(cli: CLI, tmp_path: Path) -> None:
    out = tmp_path / "c.html"
    assert cli("compare", "vgg16", "resnet50", "mobilenet_v2", "--format", "html", "-o", str(out)).exit_code == 0
    html = out.read_text(encoding="utf-8")
    assert re.findall(r'<g class="mark" data-network="([^"]+)"', html) == ["vgg16", "resnet50", "mobilenet_v2"]
    diff_html = cli("compare", "resnet18", "resnet34", "--layers", "--format", "html").stdout
    assert diff_html.count('<tr class="added">') == 56  # 3 + 4 + 6 + 3 basic blocks vs 2 + 2 + 2 + 2: 8 × 7 layers


def test_scatter_places_networks_by_their_figures() -> None:
    from cnncalc.render.html import scatter

    svg = scatter(compare([analyze("vgg16"), analyze("mobilenet_v2")]))
    marks = dict(re.findall(r'data-network="([^"]+)"><title>[^<]*</title><circle cx="([\d.]+)"', svg))
    assert float(marks["vgg16"]) > float(marks["mobilenet_v2"])  # more MACs: further right


# --- plots (matplotlib, optional) --------------------------------------------------------------------------------


def test_plot_without_matplotlib_fails_before_any_output(cli: CLI, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "matplotlib" else real(name, *a))
    result = cli("vgg16", "--plot", str(tmp_path / "p.png"))
    assert result.exit_code == 2 and result.stdout == "" and "cnncalc[plot]" in result.stderr


@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_plot_writes_the_file_the_extension_names(cli: CLI, tmp_path: Path, suffix: str) -> None:
    pytest.importorskip("matplotlib")
    path = tmp_path / f"p{suffix}"
    assert cli("vgg16", "--plot", str(path), "--format", "json").exit_code == 0
    head = path.read_bytes()[:200]
    assert head.startswith(b"\x89PNG") if suffix == ".png" else b"<svg" in head or b"<?xml" in head
    chart = tmp_path / f"c{suffix}"
    assert cli("compare", "vgg16", "resnet50", "--plot", str(chart)).exit_code == 0
    assert chart.stat().st_size > 1000


# --- a real browser ----------------------------------------------------------------------------------------------

#: Appended to the page under test: after layout, record what the browser actually drew.
PROBE = """<script>
var nodes = Array.from(document.querySelectorAll('[data-layer]'));
var drawn = nodes.filter(function (n) { var b = n.getBoundingClientRect(); return b.width > 0 && b.height > 0; });
var pre = document.createElement('pre'); pre.id = 'probe';
pre.textContent = JSON.stringify({nodes: nodes.length, drawn: drawn.length,
  names: nodes.map(function (n) { return n.getAttribute('data-layer'); }), text: document.body.innerText});
document.body.appendChild(pre);
</script>"""


def _chromium(browser: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([browser, "--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars",
                           "--disable-dev-shm-usage", "--no-first-run", *args],
                          capture_output=True, text=True, timeout=120, check=False)


def png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and unfiltered rows of an 8-bit RGB/RGBA, non-interlaced PNG (what Chromium writes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height, channels = 8, b"", 0, 0, 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, bits, color, _, _, interlace = struct.unpack(">IIBBBBB", chunk)
            assert bits == 8 and color in (2, 6) and interlace == 0
            channels = 3 if color == 2 else 4
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    rows: list[bytes] = []
    prev = bytearray(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b = prev[i]
            c = prev[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, rows


@pytest.mark.browser
def test_the_report_renders_in_a_real_browser(browser: str, tmp_path: Path) -> None:
    report = analyze("resnet18")
    page = tmp_path / "resnet18.html"
    page.write_text(render(report, Options()).replace("</body>", PROBE + "</body>"), encoding="utf-8")
    result = _chromium(browser, "--dump-dom", page.as_uri())
    assert result.returncode == 0, result.stderr[-2000:]
    found = re.search(r'<pre id="probe">(.*?)</pre>', result.stdout, re.S)
    assert found, "the page's script did not run"
    import html as html_lib

    probe = json.loads(html_lib.unescape(found.group(1)))
    assert probe["nodes"] == probe["drawn"] == len(report.layers)  # every layer drawn, with a size
    assert probe["names"] == [row.name for row in report.layers]
    # Rendered text: the title and ResNet-18's parameter count (torchvision's model docs: 11,689,512).
    assert "resnet18" in probe["text"] and "11,689,512" in probe["text"] and "Block diagram" in probe["text"]


@pytest.mark.browser
def test_the_report_screenshot_is_not_blank(browser: str, tmp_path: Path) -> None:
    page = tmp_path / "vgg16.html"
    page.write_text(_html("vgg16"), encoding="utf-8")
    shot = tmp_path / "shot.png"
    result = _chromium(browser, f"--screenshot={shot}", "--window-size=800,600", page.as_uri())
    assert result.returncode == 0 and shot.exists(), result.stderr[-2000:]
    width, height, rows = png_pixels(shot.read_bytes())
    assert (width, height) == (800, 600)
    channels = len(rows[0]) // width
    pixels = [row[i:i + 3] for row in rows[::4] for i in range(0, len(row), channels * 4)]
    background = max(set(pixels), key=pixels.count)
    # A page of text, cards and bars: many colours, and a good part of the pixels differ from the background.
    assert len(set(pixels)) > 50
    assert sum(p != background for p in pixels) > len(pixels) // 20
