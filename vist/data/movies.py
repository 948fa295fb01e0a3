"""Natural movies for the virtual retina: photographs viewed with simulated eye movements.

A movie is a sequence of *scenes*. Each scene is one grayscale photograph that ships inside
scikit-image, rescaled so that the 360×360 field of view sees part of it; during a scene the
eye drifts (fixational drift, an Ornstein–Uhlenbeck walk) and jumps (saccades every 0.3–1 s).
A new scene (another photograph, or the same one at another zoom) starts every 4–9 s. Movie 1
and movie 2 use disjoint sets of photographs, so a model trained on one and tested on the other
has to generalise across images; a third set calibrates the simulated cells' thresholds.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import skimage.color
import skimage.data
import skimage.transform

MOVIE_IMAGES: dict[str, tuple[str, ...]] = {
    "mov1": ("camera", "grass", "coffee", "astronaut", "chelsea"),
    "mov2": ("gravel", "brick", "rocket", "moon", "cat", "stereo_motorcycle"),
    "calibration": ("coins", "clock", "retina"),
}
"""scikit-image photographs used by each movie (disjoint sets)."""

MOVIE_FRAMES: dict[str, int] = {"mov1": 1800, "mov2": 1600, "calibration": 900}
"""Frames per movie: the paper's movie 1 has 1800 frames, movie 2 has 1600 (30 Hz)."""


@dataclass(frozen=True)
class EyeMovementParams:
    """How the simulated eye looks at each photograph. Lengths in frame pixels, times in frames.

    Attributes:
        size: side of the square field of view (the movie's frame size).
        zoom: range of the ratio (photo's short side after rescaling) / ``size``.
        drift_step: standard deviation of the fixational drift per frame.
        drift_pull: fraction of the offset from the fixation point pulled back per frame.
        saccade_interval: range of the interval between saccades (0.3–1 s at 30 Hz).
        saccade_amplitude: range of a saccade's length.
        saccade_frames: frames a saccade takes (the eye moves fast but not instantly).
        scene_frames: range of a scene's duration (4–9 s at 30 Hz).
    """

    size: int = 360
    zoom: tuple[float, float] = (1.3, 2.2)
    drift_step: float = 0.6
    drift_pull: float = 0.05
    saccade_interval: tuple[int, int] = (9, 30)
    saccade_amplitude: tuple[float, float] = (25.0, 90.0)
    saccade_frames: int = 2
    scene_frames: tuple[int, int] = (120, 270)


def photograph(name: str) -> np.ndarray:
    """A scikit-image photograph as grayscale ``float32 [H, W]`` in ``[0, 1]``."""
    img = getattr(skimage.data, name)()
    if isinstance(img, tuple):  # stereo_motorcycle → (left, right, disparity)
        img = img[0]
    img = np.asarray(img)
    if img.ndim == 3:
        img = skimage.color.rgb2gray(img[..., :3])
    elif img.dtype == np.uint8:
        img = img / 255.0
    return img.astype(np.float32)


def _rescaled(img: np.ndarray, short_side: int) -> np.ndarray:
    scale = short_side / min(img.shape)
    return skimage.transform.rescale(img, scale, anti_aliasing=scale < 1, order=1).astype(np.float32)


def _eye_trace(n: int, room: tuple[float, float], rng: np.random.Generator,
               p: EyeMovementParams) -> np.ndarray:
    """Top-left corner of the field of view over ``n`` frames: ``float64 [n, 2]`` (x, y)."""
    hi = np.array(room)
    fix = rng.uniform(0, hi)
    pos = fix.copy()
    out = np.empty((n, 2))
    next_saccade = rng.integers(*p.saccade_interval)
    target, steps_left = None, 0
    for t in range(n):
        if t == next_saccade:
            angle = rng.uniform(0, 2 * np.pi)
            amp = rng.uniform(*p.saccade_amplitude)
            target = np.clip(fix + amp * np.array([np.cos(angle), np.sin(angle)]), 0, hi)
            steps_left = p.saccade_frames
            next_saccade = t + rng.integers(*p.saccade_interval)
        if steps_left > 0:
            pos = pos + (target - pos) / steps_left
            steps_left -= 1
            if steps_left == 0:
                fix = target.copy()
        else:
            pos = pos + p.drift_pull * (fix - pos) + rng.normal(0, p.drift_step, 2)
        pos = np.clip(pos, 0, hi)
        out[t] = pos
    return out


def _crop(img: np.ndarray, xy: np.ndarray, size: int) -> np.ndarray:
    """Bilinear crop of ``size``×``size`` pixels with its top-left corner at ``xy`` (sub-pixel)."""
    x0, y0 = int(np.floor(xy[0])), int(np.floor(xy[1]))
    fx, fy = xy[0] - x0, xy[1] - y0
    a = img[y0:y0 + size + 1, x0:x0 + size + 1]
    return ((1 - fy) * ((1 - fx) * a[:-1, :-1] + fx * a[:-1, 1:])
            + fy * ((1 - fx) * a[1:, :-1] + fx * a[1:, 1:]))


@dataclass(frozen=True)
class Movie:
    """A rendered movie and how it was made.

    Attributes:
        frames: ``uint8 [T, size, size]``.
        eye: ``float32 [T, 2]`` top-left corner (x, y) of the view in the rescaled photograph.
        scene: ``int16 [T]`` index of the scene shown in each frame.
        scene_images: the photograph of each scene.
        params: the eye-movement parameters.
    """

    frames: np.ndarray
    eye: np.ndarray
    scene: np.ndarray
    scene_images: list[str]
    params: EyeMovementParams


def render_movie(movie: str, n_frames: int | None = None, seed: int = 0,
                 params: EyeMovementParams | None = None) -> Movie:
    """Render one of the movies of :data:`MOVIE_IMAGES` as ``uint8 [T, size, size]`` frames.

    The stimulus, like the paper's, does not depend on the retina: ``seed`` here is the stimulus
    seed (fixed per movie by :func:`vist.data.load`).
    """
    if movie not in MOVIE_IMAGES:
        raise ValueError(f"unknown movie {movie!r}; expected one of {sorted(MOVIE_IMAGES)}")
    p = params or EyeMovementParams()
    n = MOVIE_FRAMES[movie] if n_frames is None else int(n_frames)
    if n < 1:
        raise ValueError(f"n_frames: expected a positive frame count, found {n}")
    rng = np.random.default_rng([seed, sum(map(ord, movie))])
    names = MOVIE_IMAGES[movie]
    photos = {name: photograph(name) for name in names}
    frames = np.empty((n, p.size, p.size), np.uint8)
    eye = np.empty((n, 2), np.float32)
    scene = np.empty(n, np.int16)
    scene_images: list[str] = []
    order = list(rng.permutation(len(names)))
    t = 0
    while t < n:
        if not order:
            order = list(rng.permutation(len(names)))
        name = names[order.pop(0)]
        length = min(int(rng.integers(*p.scene_frames)), n - t)
        img = _rescaled(photos[name], int(p.size * rng.uniform(*p.zoom)))
        room = (img.shape[1] - p.size - 1.0, img.shape[0] - p.size - 1.0)
        trace = _eye_trace(length, room, rng, p)
        for i in range(length):
            frames[t + i] = np.clip(_crop(img, trace[i], p.size) * 255.0 + 0.5, 0, 255).astype(np.uint8)
        eye[t:t + length] = trace
        scene[t:t + length] = len(scene_images)
        scene_images.append(name)
        t += length
    return Movie(frames=frames, eye=eye, scene=scene, scene_images=scene_images, params=p)


def movie_params_dict(p: EyeMovementParams) -> dict:
    """The eye-movement parameters as a JSON-serialisable dict."""
    return asdict(p)
