"""``cnncalc check``: a person's table of shapes and counts, marked cell by cell against the analysis.

Every cell gets ✓ or ✗, the correct value and its derivation: the engine's own formula with the numbers
substituted, from engine.explain. For a wrong cell, a catalogue of common slips is tried. Each slip is the
engine re-run on a deliberately wrong variant of the layer or its input: the depth left out, the bias left out,
the padding ignored, ceil for floor, and so on. The first slip that reproduces the written number is named, with
its wrong derivation. No formula is written here a second time.

Reading a table:

- CSV (comma, semicolon or tab) or a GitHub Markdown table, anywhere in a Markdown file.
- Columns are matched by header, tolerantly: ``Activation shape``, ``Activation Size``, ``# parameters``,
  ``weights`` (without biases), ``MACs``, ``FLOPs``, ``receptive field``, ``memory (bytes)``.
- A column of layer names (``layer``, ``name``, or a first column of words) matches rows by name: the spec's
  names, a block instance's name (its row holds the block's sums), or a kind (``POOL2``, ``FC``, ``ReLU``) placed
  in order. Otherwise the rows are aligned with the spec's layers in order, so that the most cells agree. A table
  may leave out activations, dropout, flatten and normalisation, may give fused activations rows of their own,
  and may start with an ``input`` row and end with a ``total`` row.
- Numbers: ``3,072``, ``35K`` (right when the true value rounds to it; ``800K`` when it rounds to 800K or to
  8·10⁵), ``138M``, ``1.2e6``, ``(5*5*3+1)*8``, ``224*224*64=3.2M``. Blank, ``-`` and ``—`` mean not given.
- Shapes: ``(28,28,8)``, ``28x28x8``, ``8x28x28``, ``[8, 28, 28]``, ``6@28x28``. Whether a table writes H×W×C
  (cs231n, Keras) or C×H×W (PyTorch) is detected from its cells unless ``layout`` is given.

The steps, one module each, in the order they run: :mod:`.table` reads the file and its headers, :mod:`.cells`
the figures and shapes written in it, :mod:`.derive` the correct figures (the engine re-run on single layers),
:mod:`.align` places the rows on the spec's layers, :mod:`.slips` names the mistake behind a wrong cell, and
:mod:`.marking` runs them all and writes the notes and the result.
"""

from cnncalc.proof.homework.align import name_key
from cnncalc.proof.homework.cells import Order, TableLayout, read_number, read_shape
from cnncalc.proof.homework.marking import Cell, CheckResult, check
from cnncalc.proof.homework.table import Kind, classify, read_table

__all__ = [
           "Cell",
           "CheckResult",
           "Kind",
           "Order",
           "TableLayout",
           "check",
           "classify",
           "name_key",
           "read_number",
           "read_shape",
           "read_table",
]
