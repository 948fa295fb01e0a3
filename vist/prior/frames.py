"""Frame checks and the preprocessing every prior shares (SPEC §2).

Frames are ``uint8 [T, H, W]`` grey levels. A prior sees them resized to ``img_size`` with
antialiasing, as float in ``[0, 1]``; the ViT additionally repeats grey into three channels and
applies the ImageNet normalisation its weights were trained with.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from vist.env import resolve_device  # re-exported: chapter 13 imports it from here

__all__ = ["GRAY_MEAN", "GRAY_STD", "IMAGENET_MEAN", "IMAGENET_STD", "check_frames", "gray_input",
           "imagenet_input", "resize_frames", "resolve_device"]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
GRAY_MEAN = float(np.mean(IMAGENET_MEAN))
"""Mean of the ImageNet channel means: the grey-level centre used by the pixel prior and CRNN."""
GRAY_STD = float(np.mean(IMAGENET_STD))


def check_frames(frames: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
    """Return ``frames`` if it is a ``uint8 [T, H, W]`` array or tensor with ``T >= 1``.

    Raises:
        TypeError: not a NumPy array or torch tensor.
        ValueError: wrong dtype, rank or an empty movie (the message names expected and found).
    """
    if not isinstance(frames, (np.ndarray, torch.Tensor)):
        raise TypeError(f"frames: expected a uint8 array [T, H, W], found {type(frames).__name__}")
    dtype = frames.dtype
    if dtype not in (np.uint8, torch.uint8):
        raise ValueError(f"frames: expected dtype uint8 (grey levels 0-255), found {dtype}; "
                         "convert with (x * 255).round().astype(np.uint8) if x is in [0, 1]")
    if frames.ndim != 3:
        raise ValueError(f"frames: expected rank 3 [T, H, W], found rank {frames.ndim} with shape "
                         f"{tuple(frames.shape)}" + ("; for RGB movies convert to grey first"
                                                    if frames.ndim == 4 else ""))
    if frames.shape[0] < 1 or frames.shape[1] < 1 or frames.shape[2] < 1:
        raise ValueError(f"frames: expected a non-empty movie [T, H, W], found shape {tuple(frames.shape)}")
    return frames


def resize_frames(frames: np.ndarray | torch.Tensor, img_size: int,
                  device: torch.device | str = "cpu") -> torch.Tensor:
    """``uint8 [T, H, W]`` → ``float32 [T, 1, img_size, img_size]`` in ``[0, 1]``, antialiased.

    Bilinear resampling with antialiasing (the area average when shrinking 360 → 224).
    """
    frames = check_frames(frames)
    x = torch.as_tensor(np.ascontiguousarray(frames) if isinstance(frames, np.ndarray) else frames)
    device = torch.device(device)
    if device.type == "cuda" and x.device.type == "cpu":  # upload the uint8 frames, convert there
        x = x.pin_memory().to(device, non_blocking=True)
    x = x.to(device=device, dtype=torch.float32).div_(255.0).unsqueeze(1)
    if tuple(x.shape[-2:]) != (img_size, img_size):
        x = F.interpolate(x, size=(img_size, img_size), mode="bilinear", antialias=True,
                          align_corners=False)
    return x.clamp_(0.0, 1.0)


def imagenet_input(frames: np.ndarray | torch.Tensor, img_size: int,
                   device: torch.device | str = "cpu") -> torch.Tensor:
    """``uint8 [T, H, W]`` → ``float32 [T, 3, img_size, img_size]``, ImageNet-normalised grey."""
    x = resize_frames(frames, img_size, device).expand(-1, 3, -1, -1)
    mean = torch.tensor(IMAGENET_MEAN, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=x.device).view(1, 3, 1, 1)
    return (x - mean) / std


def gray_input(frames: np.ndarray | torch.Tensor, img_size: int,
               device: torch.device | str = "cpu") -> torch.Tensor:
    """``uint8 [T, H, W]`` → ``float32 [T, img_size, img_size]``, centred and scaled grey levels."""
    return ((resize_frames(frames, img_size, device) - GRAY_MEAN) / GRAY_STD).squeeze(1)

