"""Scores of predicted firing rates: correlation, SD-KL, noise ceilings and FEVE (SPEC §5).

Inputs follow the package convention: ``[T, cells]`` rates in spikes per frame bin; trials are
``[trials, T, cells]`` spike counts.

May import: nothing else of vist (NumPy, SciPy, numba, PyTorch).
"""

from vist.metrics.noise import cc_ceiling, feve, oracle_correlation, split_half_reliability

__all__ = ["cc_ceiling", "feve", "oracle_correlation", "split_half_reliability"]
from vist.metrics.correlation import CCResult, cc  # noqa: E402
from vist.metrics.scores import Scores  # noqa: E402
from vist.metrics.sdkl import sd_kl, sd_kl_details, sd_kl_reference  # noqa: E402

__all__ += ["CCResult", "Scores", "cc", "sd_kl", "sd_kl_details", "sd_kl_reference"]
