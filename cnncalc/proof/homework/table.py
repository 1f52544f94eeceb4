"""Reading a person's table: a CSV file, the first GitHub Markdown table in a file, or a framework's printed
summary (Keras ``model.summary()``, 2.x and 3.x; torchsummary; torchinfo), its headers and columns.

Columns are matched by header, tolerantly (``Activation shape``, ``# parameters``, ``MACs (M)``, ``GFLOPs``); a
column of words is the row names. Nothing here knows the network: this is the text of the table only.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cnncalc.errors import SpecError

Kind = Literal["shape", "activations", "bytes", "params", "weights", "macs", "flops", "receptive_field"]

#: What a cell may hold to say "not given" (``--`` and ``(recursive)`` are torchinfo's).
BLANK = {"", "-", "--", "—", "–", "?", "n/a", "na", "none", "x", "(recursive)"}
#: The largest table read (bytes): a homework table is a few kilobytes.
MAX_TABLE_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Column:
    """A checked column: its position, header as written, what it holds and its header's unit (``(M)``)."""

    index: int
    header: str
    kind: Kind
    scale: float = 1.0


@dataclass(frozen=True)
class Table:
    """A parsed table: headers, and data rows with their line numbers in the file."""

    path: str
    headers: list[str]
    rows: list[tuple[int, list[str]]]
    #: The framework whose printed summary this is (``keras``, ``torchsummary``, ``torchinfo``), or "" for a
    #: table a person typed. A summary's row names are layer *kinds* with the framework's own numbering.
    style: str = ""
    #: Header notes that say how a figure was counted ("FLOPs counted as multiply-adds"), for the checker.
    remarks: tuple[str, ...] = ()

    def fail(self, reason: str, row: int | None = None, hint: str | None = None) -> SpecError:
        """An error that names the table file, and the row (and its line) when there is one."""
        line = self.rows[row - 1][0] if row is not None else None
        where = f"row {row}: " if row is not None else ""
        return SpecError(where + reason, file=self.path, line=line, hint=hint)


_SEPARATOR = re.compile(r"^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$")


def _clean(cell: str) -> str:
    """A cell without Markdown emphasis, code marks and escaped pipes."""
    text = cell.replace("\\|", "|").strip()
    text = re.sub(r"(\*\*|__|`)", "", text)
    return text.strip().strip("*_").strip()


def _md_cells(line: str) -> list[str]:
    body = line.strip()
    body = body[1:] if body.startswith("|") else body
    body = body[:-1] if body.endswith("|") and not body.endswith("\\|") else body
    return [_clean(c) for c in re.split(r"(?<!\\)\|", body)]


def _split_bracketed(line: str, delimiter: str) -> list[str]:
    """Split a CSV line, keeping delimiters inside (), [] and quotes: an unquoted ``(28,28,8)`` stays one cell."""
    cells, depth, quote, cur = [], 0, "", []
    for ch in line:
        if quote:
            if ch == quote:
                quote = ""
            else:
                cur.append(ch)
            continue
        if ch in "\"'" and not "".join(cur).strip():
            quote = ch
        elif ch in "([{":
            depth += 1
            cur.append(ch)
        elif ch in ")]}":
            depth = max(depth - 1, 0)
            cur.append(ch)
        elif ch == delimiter and depth == 0:
            cells.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    cells.append("".join(cur))
    return [_clean(c) for c in cells]


def read_table(path: str | Path) -> Table:
    """The header and data rows of a CSV file or of the first Markdown table in a file."""
    p = Path(path)
    try:
        if p.stat().st_size > MAX_TABLE_BYTES:
            raise SpecError(f"the table is larger than {MAX_TABLE_BYTES // 2**20} MiB", file=str(p))
        data = p.read_bytes()
    except OSError as err:
        raise SpecError(f"cannot read the table: {err.strerror or err}", file=str(p)) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        bad = data[: err.start].count(b"\n") + 1
        raise SpecError(f"is not UTF-8 text (byte 0x{data[err.start]:02x} cannot be read)", file=str(p), line=bad,
                        hint="save the table as UTF-8 (most editors offer it under 'Save as' or 'Encoding')",
                        ) from None
    lines = text.splitlines()
    summary = _summary(str(p), lines) or _walkthrough(str(p), lines)
    if summary is not None:
        return _finish(summary)
    for i in range(1, len(lines)):
        if _SEPARATOR.match(lines[i]) and "|" in lines[i - 1] + lines[i]:
            headers = _md_cells(lines[i - 1])
            rows = []
            end = len(lines)
            for j in range(i + 1, len(lines)):
                if "|" not in lines[j] or not lines[j].strip():
                    end = j
                    break
                rows.append((j + 1, _md_cells(lines[j])))
            remarks = tuple(line.strip() for line in [*lines[: i - 1], *lines[end:]][:200] if line.strip())
            return _finish(Table(str(p), headers, rows, remarks=remarks))
    content = [(n + 1, line) for n, line in enumerate(lines) if line.strip()]
    if not content:
        raise SpecError("the table is empty", file=str(p))
    sample = "\n".join(line for _, line in content[:20])
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = ","
    parsed: list[tuple[int, list[str]]] = []
    for n, line in content:
        cells = [_clean(c) for c in next(csv.reader([line], delimiter=delimiter))]
        if parsed and len(cells) > len(parsed[0][1]):
            cells = _split_bracketed(line, delimiter)
        parsed.append((n, cells))
    headers = parsed[0][1]
    if len(headers) < 2 and classify(headers[0] if headers else "")[0] in (None, "name"):
        raise SpecError("no table found: expected CSV with a header row, or a Markdown table "
                        "(| Layer | Activation shape | … | with a |---| line)", file=str(p))
    return _finish(Table(str(p), headers, parsed[1:]))


def _finish(table: Table) -> Table:
    rows = [(n, cells) for n, cells in table.rows if any(c.strip() for c in cells)]
    table = Table(table.path, table.headers, rows, table.style, table.remarks)
    if not table.rows:
        raise SpecError("the table has a header but no rows", file=table.path)
    width = len(table.headers)
    for i, (_, cells) in enumerate(table.rows, start=1):
        if len(cells) > width and any(c.strip() for c in cells[width:]):
            raise table.fail(f"{len(cells)} cells under {width} headers", i,
                             hint="quote cells that contain the delimiter, e.g. \"3,072\" or \"(28,28,8)\"")
    return table


# --- framework summaries ----------------------------------------------------------------------------------------

#: A printed shape with its batch dim first: ``(None, 28, 28, 8)`` (Keras), ``[-1, 8, 28, 28]`` (torchsummary),
#: ``[1, 8, 28, 28]`` (torchinfo).
_PRINTED_SHAPE = re.compile(r"[\(\[]\s*(?:None|-?\d+)(?:\s*,\s*(?:None|-?\d+))*\s*,?\s*[\)\]]")
_RULE = re.compile(r"^[\s=_\-─━═┏┓┗┛┡┩┳┻╇┃│├┤┼└┘┌┐╭╮╰╯┬┴]*$")
_BOX = re.compile(r"[│┃]")


def _summary(path: str, lines: list[str]) -> Table | None:
    """A Keras, torchsummary or torchinfo summary as a table: Layer (type) | Output Shape | Param #, and a
    ``Total`` row from its ``Total params:`` line. None when ``lines`` hold no such summary.

    The batch dim each framework prints first is dropped; a row's name is its kind followed by the framework's
    own name in parentheses (``Conv2D (conv2d_1)``, ``Conv2d (#4)``), as frameworks number each kind (or every
    module) on their own, never as the spec does.
    """
    head = next((i for i, line in enumerate(lines) if re.search(r"Layer \(type", line) and "Param" in line), None)
    if head is None:
        return None
    header = lines[head]
    style = "torchinfo" if "depth-idx" in header or any(re.search(r"[├└]─+\s*\w", line) for line in lines) \
        else "keras" if _BOX.search(header) or "(None" in "".join(lines) else "torchsummary"
    rows: list[tuple[int, list[str]]] = []
    remarks: list[str] = []
    headers = ["Layer (type)", "Output Shape", "Param #"]
    for n in range(head + 1, len(lines)):
        raw = lines[n]
        line = _BOX.sub(" ", raw).strip()
        if not line or _RULE.match(raw):
            continue
        total = re.match(r"(?i)(total|trainable|non-trainable) params:\s*([\d,]+)", line)
        if total:
            if total.group(1).lower() == "total":
                rows.append((n + 1, ["Total", "", total.group(2)]))
            else:
                remarks.append(line)
            continue
        if re.match(r"(?i)(total mult-adds|input size|forward/backward|params size|estimated total|model:)", line):
            remarks.append(line)
            mult = re.match(r"(?i)(total mult-adds \(\w+\)):\s*([\d.,]+)$", line)
            if mult and style == "torchinfo" and len(headers) == 3:  # a Total row of its own, as torchinfo counts
                headers.append(mult.group(1))
                rows.append((n + 1, ["Total", "", "", mult.group(2)]))
            continue
        shape = _PRINTED_SHAPE.search(line)
        if shape is None:
            if rows and rows[-1][1][0] != "Total":  # a Keras 2 name wrapped onto the next line: ``2D)``
                rows[-1][1][0] = rows[-1][1][0] + line
            continue
        name = line[: shape.start()].strip()
        if style == "torchinfo" and not re.match(r"^[│├└|\s]*[├└]", raw):
            remarks.append(f"line {n + 1}: {name}, the model itself (not checked)")
            continue
        after = line[shape.end():].split()
        params = after[0] if after else ""
        dims = [d.strip() for d in shape.group(0)[1:-1].split(",") if d.strip()]
        rows.append((n + 1, [name, "(" + ", ".join(dims[1:]) + ")" if len(dims) > 1 else "", params]))
    if not rows:
        return None
    for _, cells in rows:
        cells[0] = _kind_first(cells[0], style)
    return Table(path, headers, rows, style, tuple(remarks))


#: A line of the cs231n "VGGNet in detail" walk-through: ``CONV3-64: [224x224x64]  memory:  224*224*64=3.2M
#: weights: (3*3*3)*64 = 1,728`` (memory and weights in any order, either may be missing).
_WALK = re.compile(r"^\s*([A-Za-z][\w\- ]*?)\s*:\s*\[([^\]]*)\](.*)$")
_WALK_FIELD = re.compile(r"(?i)\b(memory|weights|params|parameters)\s*:\s*(.*?)(?=\s+\b(?:memory|weights|params|"
                         r"parameters)\s*:|$)")
_WALK_TOTAL = re.compile(r"(?i)^\s*total\s+(memory|params|parameters|weights)\s*:\s*([\d.,]+\s*[KMGkmg]?)")


def _walkthrough(path: str, lines: list[str]) -> Table | None:
    """cs231n's walk-through lines as a table: Layer | Output | Memory | Weights, and ``TOTAL memory:`` /
    ``TOTAL params:`` lines as a Total row (memory counts values: ``24M * 4 bytes`` is 24M values)."""
    rows: list[tuple[int, list[str]]] = []
    total = ["Total", "", "", ""]
    total_line = 0
    for n, line in enumerate(lines, start=1):
        tot = _WALK_TOTAL.match(line)
        if tot:
            column = 2 if tot.group(1).lower() == "memory" else 3
            total[column] = tot.group(2).strip()
            total_line = total_line or n
            continue
        m = _WALK.match(line)
        if not m or not re.search(r"\d", m.group(2)):
            continue
        fields = {k.lower(): v.strip() for k, v in _WALK_FIELD.findall(m.group(3))}
        if not fields:
            continue
        weights = fields.get("weights") or fields.get("params") or fields.get("parameters") or ""
        rows.append((n, [m.group(1).strip(), "[" + m.group(2).strip() + "]", fields.get("memory", ""), weights]))
    if len(rows) < 2:
        return None
    if total_line:
        rows.append((total_line, total))
    return Table(path, ["Layer", "Output", "Memory", "Weights"], rows, "cs231n")


def _kind_first(name: str, style: str) -> str:
    """``conv2d_1 (Conv2D)`` → ``Conv2D (conv2d_1)``, ``Conv2d-4`` → ``Conv2d (#4)``, ``├─Conv2d: 1-1`` →
    ``Conv2d (1-1)``: the kind is what a row can be matched by."""
    if name == "Total":
        return name
    name = re.sub(r"^[\s│├└─|]+", "", name)
    keras = re.fullmatch(r"(\S+)\s*\((\w+)\)?\s*", name)
    if style == "keras" and keras:
        return f"{keras.group(2)} ({keras.group(1)})"
    info = re.fullmatch(r"(\w+):\s*([\d-]+)", name)
    if info:
        return f"{info.group(1)} ({info.group(2)})"
    numbered = re.fullmatch(r"(\w+)-(\d+)", name)
    if numbered:
        return f"{numbered.group(1)} (#{numbered.group(2)})"
    return name


def flops_note(texts: list[str]) -> str | None:
    """The FLOPs convention a note states ("FLOPs counted as multiply-adds", "FLOPs = 2 × MACs"), or None."""
    for text in texts:
        low = text.lower()
        if "flop" not in low:
            continue
        if re.search(r"2\s*[x×·*]?\s*(macs?|multiply|mult)|twice|two per|2 per", low):
            return "2macs"
        if re.search(r"flops?\b.{0,40}\b(as|=|are|mean|means|count)\b.{0,20}(multiply-adds?|mult-adds?|macs?|madds?)",
                     low):
            return "macs"
    return None


# --- headers ----------------------------------------------------------------------------------------------------


def _words(header: str) -> list[str]:
    text = header.lower().replace("no.", " ").replace("number of", " ").replace("#", " ")
    return re.sub(r"[^a-z0-9]+", " ", text).split()


_SCALED = {"k": 1e3, "thousand": 1e3, "thousands": 1e3, "m": 1e6, "mil": 1e6, "million": 1e6, "millions": 1e6,
           "g": 1e9, "b": 1e9, "billion": 1e9, "billions": 1e9, "t": 1e12}
_PREFIXED = re.compile(r"^([kmgt])(macs?|flops?|params?|mult|madds)$")
_BYTE_UNITS = {"byte": 1.0, "bytes": 1.0, "kb": 1e3, "mb": 1e6, "gb": 1e9, "kib": 2**10, "mib": 2**20, "gib": 2**30}


def classify(header: str) -> tuple[Kind | Literal["name"] | None, float]:
    """What a column holds, from its header (``# parameters``, ``Activation Size``, ``GFLOPs``, ``MACs (M)``)."""
    words = _words(header)
    scale = 1.0
    for w in words:
        m = _PREFIXED.match(w)
        if m and not (m.group(1) == "m" and m.group(2).startswith("mult")):
            scale = {"k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12}[m.group(1)]
    paren = re.findall(r"\(([^)]*)\)|\bin (\w+)", header.lower())
    for a, b in paren:
        unit = (a or b).strip()
        if unit in _SCALED:
            scale = _SCALED[unit]
    if any(w in ("million", "millions", "billion", "billions", "thousand", "thousands") for w in words):
        scale = _SCALED[next(w for w in words if w in _SCALED)]
    if "receptive" in words or "rf" in words:
        return "receptive_field", 1.0
    if any(w in _BYTE_UNITS for w in words):
        return "bytes", next(_BYTE_UNITS[w] for w in words if w in _BYTE_UNITS)
    if any(w in ("shape", "shapes", "volume", "dims", "dimension", "dimensions") for w in words):
        return "shape", 1.0
    if any(w in ("size", "activation", "activations", "memory", "neurons", "values", "elements", "units")
           for w in words):
        return "activations", scale
    if "output" in words or "out" in words:
        return "shape", 1.0
    if any(re.fullmatch(r"[kmgt]?params?|parameters?|learnable|trainable", w) for w in words):
        return "params", scale
    if any(w in ("weight", "weights") for w in words):
        return "weights", scale
    if any(re.fullmatch(r"[kmgt]?flops?", w) for w in words):
        return "flops", scale
    if any(re.fullmatch(r"[kmgt]?macs?|madds?|mult|mults|multiply|multiplies|multiplications|multadds|"
                        r"multiplyadds|muladds", w) for w in words):
        return "macs", scale
    if any(w in ("layer", "layers", "name", "stage") for w in words):
        return "name", 1.0
    return None, 1.0


def dims_in(text: str) -> list[int]:
    """The integers written in a shape cell (``None`` for a batch dim is dropped)."""
    return [int(d) for d in re.findall(r"\d+", re.sub(r"(?i)none", " ", text))]


def _is_shape_like(text: str) -> bool:
    if re.fullmatch(r"\s*\d{1,3}(,\d{3})+\s*", text):
        return False  # 3,072: a number with a thousands separator
    return len(dims_in(text)) >= 2 and not re.search(r"[+*=]", text)


def find_columns(table: Table) -> tuple[list[Column], int | None, list[str]]:
    """The columns to check, the column of row names (if any), and the headers of columns left unchecked."""
    columns: list[Column] = []
    name_col: int | None = None
    ignored: list[str] = []
    for i, header in enumerate(table.headers):
        kind, scale = classify(header)
        cells = [row[i] for _, row in table.rows if i < len(row) and row[i].strip().lower() not in BLANK]
        if kind == "name" or (kind is None and i == 0 and cells and _wordy(cells)):
            if name_col is None:
                name_col = i
            continue
        if kind == "activations" and cells and sum(_is_shape_like(c) for c in cells) * 2 > len(cells):
            kind = "shape"
        if kind is None:
            if header.strip():
                ignored.append(header.strip())
            continue
        columns.append(Column(i, header.strip() or kind, kind, scale))
    return columns, name_col, ignored


def _wordy(cells: list[str]) -> bool:
    """Whether a column holds names rather than numbers or shapes."""
    return sum(bool(re.search(r"[A-Za-z]", c)) and not re.fullmatch(r"[\d.,\s]*[KMGTkmgt]i?", c)
               for c in cells) * 2 > len(cells)
