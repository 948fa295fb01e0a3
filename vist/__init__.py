"""vist: Vi-ST (ECCV 2024) reimplemented as a tested package behind an executable book.

Conventions used throughout the package:

* rates and predictions are ``float32 [batch, time, cells]`` (or ``[time, cells]``) in spikes
  per frame bin; frames are ``uint8 [time, H, W]``; movies run at 30 frames per second;
* everything that is expensive (simulated recordings, ViT features) is cached under
  :func:`vist.cache.cache_dir`, written atomically and verified when loaded.
"""

__version__ = "0.1.0"

FPS = 30.0
"""Frame rate of every movie, in frames per second (the paper's stimuli run at 30 Hz)."""
