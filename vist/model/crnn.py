"""CRNN baseline (Zheng et al. 2021, Patterns): conv → conv → recurrent layer → dense → parametric softplus.

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
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from vist.prior.frames import gray_input


@dataclass(frozen=True)
class CRNNConfig:
    """Sizes of :class:`CRNN` (kernel sizes in pixels of the downsampled frame)."""

    cells: int = 90
    img_size: int = 50
    history: int = 20
    conv1: int = 128
    kernel1: int = 25
    conv2: int = 64
    kernel2: int = 11
    hidden: int = 64

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
        self.conv1 = nn.Conv2d(c.history, c.conv1, c.kernel1)
        self.conv2 = nn.Conv2d(c.conv1, c.conv2, c.kernel2)
        self.rnn = nn.LSTM(c.conv2 * c.conv_out ** 2, c.hidden, batch_first=True)
        self.dense = nn.Linear(c.hidden, c.cells)
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
        h = torch.relu(self.conv2(torch.relu(self.conv1(stacks))))
        h, _ = self.rnn(rearrange(h, "(b t) c h w -> b t (c h w)", b=b, t=t))
        return self.softplus_gain * F.softplus(self.softplus_beta * self.dense(h))
