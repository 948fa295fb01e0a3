"""CRNN baseline (Zheng et al. 2021, Patterns): conv → conv → recurrent layer → readout → parametric softplus.

At every frame t the network sees the last ``history`` frames (t − history + 1 … t, zeros before
the movie starts) stacked as channels of a 2D image: conv 128@25×25 → ReLU → conv 64@11×11 →
ReLU → flatten → LSTM (forward in time) → dense (one unit per cell) → parametric softplus
``a_c·softplus(b_c·z)``. Everything looks only backwards in time, so the model is causal.
The input size (50×50 px, the movie downsampled 7.2×) and the LSTM width are our choices.

Zheng et al.'s published Keras code differs in layout: a batch normalisation and a Gaussian noise
after each convolution, and a recurrent layer that runs across the second convolution's feature
maps rather than across time. Trained at the small preset's sizes on the virtual retina, that
layout scored as this one (``benchmarks/small_preset_schedule.md``). We keep the recurrence in
time, so that the baseline carries the stimulus history in its state as Vi-ST's causal
extractor does.

Two readouts (``CRNNConfig.readout``):

* ``"dense"`` (Zheng et al.'s): an LSTM over the flattened conv maps, then a dense layer from its
  state to every cell. Where each cell looks must be learned inside weight matrices that mix all
  positions.
* ``"gaussian"`` (Lurz et al. 2021, ICLR; as in openretina): each cell reads the conv map's
  features at one learned point ``(x, y)`` — bilinearly interpolated, jittered by a Gaussian of
  sd ``jitter`` (half-map units) while training so that the gradient reaches beyond the point;
  one LSTM, shared by all cells (``conv2`` units, added to its input: a residual), runs forward
  in time over the features each cell reads; each cell then weighs them by its own feature
  weights. Two numbers per cell say where it looks, which can be found from far fewer frames
  than the dense readout's weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from vist.prior.frames import gray_input

READOUTS = ("dense", "gaussian")
"""The CRNN's readouts (module docstring)."""

ACTIVATIONS = {"relu": F.relu, "elu": F.elu}
"""The nonlinearities after each convolution: Zheng et al.'s ReLU, or an ELU — which, unlike a
ReLU, cannot fall silent for every input and stop learning (as a whole conv layer of the small
CRNN did at a peak learning rate of 1e-2)."""


@dataclass(frozen=True)
class CRNNConfig:
    """Sizes of :class:`CRNN` (kernel sizes in pixels of the downsampled frame).

    ``hidden`` is the width of the dense readout's LSTM; ``readout`` is ``"dense"`` or
    ``"gaussian"`` (module docstring); ``jitter`` is the training jitter of the Gaussian readout's
    points, in units of half the conv map's side; ``activation`` follows each convolution
    (:data:`ACTIVATIONS`).
    """

    cells: int = 90
    img_size: int = 50
    history: int = 20
    conv1: int = 128
    kernel1: int = 25
    conv2: int = 64
    kernel2: int = 11
    hidden: int = 64
    readout: str = "dense"
    jitter: float = 0.2
    activation: str = "relu"

    @property
    def conv_out(self) -> int:
        """Side of the second conv's output map."""
        return self.img_size - self.kernel1 - self.kernel2 + 2


class CRNN(nn.Module):
    """Frames ``[B, T, S, S]`` (from :meth:`prepare`) → rates ``[B, T, cells]``; causal."""

    def __init__(self, config: CRNNConfig | None = None) -> None:
        super().__init__()
        self.config = c = config or CRNNConfig()
        if c.conv_out < 1:
            raise ValueError(f"img_size: expected more than {c.kernel1 + c.kernel2 - 2} px for the two "
                             f"convs, found {c.img_size}")
        if c.readout not in READOUTS:
            raise ValueError(f"readout: expected one of {list(READOUTS)}, found {c.readout!r}")
        if c.activation not in ACTIVATIONS:
            raise ValueError(f"activation: expected one of {list(ACTIVATIONS)}, found {c.activation!r}")
        if not c.jitter >= 0:
            raise ValueError(f"jitter: expected a non-negative sd, found {c.jitter}")
        self.conv1 = nn.Conv2d(c.history, c.conv1, c.kernel1)
        self.conv2 = nn.Conv2d(c.conv1, c.conv2, c.kernel2)
        if c.readout == "dense":
            self.rnn = nn.LSTM(c.conv2 * c.conv_out ** 2, c.hidden, batch_first=True)
            self.dense = nn.Linear(c.hidden, c.cells)
        else:
            self.rnn = nn.LSTM(c.conv2, c.conv2, batch_first=True)
            # where each cell looks: (x, y) on the conv map, -1 … 1 from edge to edge
            self.position = nn.Parameter(torch.rand(c.cells, 2) * 1.6 - 0.8)
            self.features = nn.Parameter(torch.randn(c.cells, c.conv2) / c.conv2 ** 0.5)
            self.bias = nn.Parameter(torch.zeros(c.cells))
        self.softplus_gain = nn.Parameter(torch.ones(c.cells))
        self.softplus_beta = nn.Parameter(torch.ones(c.cells))

    @staticmethod
    def prepare(frames: np.ndarray, config: CRNNConfig | None = None) -> torch.Tensor:
        """``uint8 [T, H, W]`` → ``float32 [T, S, S]``: resized, centred, scaled grey levels."""
        return gray_input(frames, (config or CRNNConfig()).img_size)

    def forward(self, x: torch.Tensor, rf: torch.Tensor | None = None) -> torch.Tensor:
        """Rates ``[B, T, cells]`` from frames ``x [B, T, S, S]``; ``rf`` unused (uniform interface)."""
        c = self.config
        if x.ndim != 4 or tuple(x.shape[2:]) != (c.img_size, c.img_size):
            raise ValueError(f"x: expected frames [B, T, {c.img_size}, {c.img_size}] (CRNN.prepare), "
                             f"found {tuple(x.shape)}")
        b, t = x.shape[:2]
        x = F.pad(x.to(self.conv1.weight.dtype), (0, 0, 0, 0, c.history - 1, 0))  # zeros before onset
        stacks = rearrange(x.unfold(1, c.history, 1), "b t h w k -> (b t) k h w")
        act = ACTIVATIONS[c.activation]
        h = act(self.conv2(act(self.conv1(stacks))))                    # [B·T, conv2, M, M]
        if c.readout == "dense":
            h, _ = self.rnn(rearrange(h, "(b t) c h w -> b t (c h w)", b=b, t=t))
            z = self.dense(h)
        else:
            z = rearrange(self._gaussian_readout(h, b), "(b t) n -> b t n", b=b)
        return self.softplus_gain * F.softplus(self.softplus_beta * z)

    def points(self) -> np.ndarray:
        """Where each cell reads, ``float64 [cells, 2]`` as ``(x, y)`` in pixels of the
        downsampled frame (pixel ``j`` spans ``[j, j + 1)``): the centre of the frame patch that
        the conv units at the cell's point see. Only for the Gaussian readout."""
        c = self.config
        if c.readout != "gaussian":
            raise ValueError(f"points: expected a CRNN with the Gaussian readout, found readout={c.readout!r}")
        unit = (self.position.detach().clamp(-1, 1).double().cpu().numpy() + 1) / 2 * (c.conv_out - 1)
        return unit + (c.kernel1 + c.kernel2 - 2) / 2 + 0.5

    def _gaussian_readout(self, h: torch.Tensor, b: int) -> torch.Tensor:
        """Conv maps ``[B·T, C, M, M]`` → each cell's drive ``[B·T, cells]``."""
        points = self.position.clamp(-1, 1).expand(h.shape[0], -1, -1)         # [B·T, cells, 2]
        if self.training and self.config.jitter > 0:
            points = points + self.config.jitter * torch.randn_like(points)
        sampled = F.grid_sample(h, points[:, :, None, :], align_corners=True)[..., 0]  # [B·T, C, cells]
        seq = rearrange(sampled, "(b t) c n -> (b n) t c", b=b)
        state, _ = self.rnn(seq)                       # one LSTM, run on each cell's features
        seq = rearrange(seq + state, "(b n) t c -> (b t) n c", b=b)
        return torch.einsum("bnc,nc->bn", seq, self.features) + self.bias
