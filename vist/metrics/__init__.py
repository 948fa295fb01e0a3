"""Scores of predicted firing rates: correlation, SD-KL, noise ceilings and FEVE (SPEC §5).

Inputs follow the package convention: ``[T, cells]`` rates in spikes per frame bin; trials are
``[trials, T, cells]`` spike counts.
"""

from vist.metrics.noise import cc_ceiling, feve, oracle_correlation, split_half_reliability

__all__ = ["cc_ceiling", "feve", "oracle_correlation", "split_half_reliability"]
