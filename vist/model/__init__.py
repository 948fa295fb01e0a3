"""Models: Vi-ST (the reference ``nn.Conv3d`` implementation) and the baselines of SPEC §6.

* :class:`ViST` / :class:`ViSTConfig` — features ``[B, T, G·G, D]`` + RF maps ``[B, cells, G, G]``
  → rates ``[B, T, cells]``; switches for every ablation row (:data:`ABLATIONS`).
* :class:`CRNN` — frames → rates (Zheng et al. 2021).
* :class:`MSTCN` — per-frame features → rates, causal (Farha & Gall 2019, adapted to regression).
* :class:`I3D` — the untrained, causal I3D architecture that feeds MS-TCN, re-exported from
  :mod:`vist.prior.i3d_net` (a frozen extractor is a prior; :class:`vist.prior.I3DPrior` runs it).

May import: vist.kernels (the fast model's ops), vist.layers (the causal convolutions),
vist.prior (frame preprocessing, the I3D network).
"""

from vist.model.ablations import ABLATIONS, Ablation, ablation_config
from vist.model.crnn import CRNN, CRNNConfig
from vist.model.mstcn import MSTCN, MSTCNConfig
from vist.model.summary import causality_profile, count_parameters, input_footprint, shape_table
from vist.model.vi_st import PAPER_CMST_KERNELS, ViST, ViSTConfig, temporal_reach
from vist.prior.i3d_net import I3D  # re-exported: chapter 3 imports it from here

__all__ = ["ABLATIONS", "CRNN", "I3D", "MSTCN", "PAPER_CMST_KERNELS", "Ablation", "CRNNConfig",
           "MSTCNConfig", "ViST", "ViSTConfig", "ablation_config", "causality_profile",
           "count_parameters", "input_footprint", "shape_table", "temporal_reach"]
