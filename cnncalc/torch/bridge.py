"""The torch bridge's public names, where the README and earlier releases import them from.

The code lives in :mod:`cnncalc.torch.build` (spec → ``nn.Module``), :mod:`cnncalc.torch.crosscheck` (run and
compare) and :mod:`cnncalc.torch._modules` (torch, imported on first use, and the modules torch lacks).
"""

from cnncalc.torch._modules import INSTALL, TorchRejectedError, torch_modules
from cnncalc.torch.build import BUILDERS, build_module
from cnncalc.torch.crosscheck import CrossReport, Row, crosscheck

__all__ = ["BUILDERS", "INSTALL", "CrossReport", "Row", "TorchRejectedError", "build_module", "crosscheck",
           "torch_modules"]
