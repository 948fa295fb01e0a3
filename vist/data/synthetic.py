"""The embedded default recording: the virtual retina (:mod:`vist.data.retina`) watching one of
the natural movies (:mod:`vist.data.movies`), simulated once and cached on disk."""

from __future__ import annotations

import json
import logging
import warnings
from dataclasses import replace

import numpy as np

from vist.cache import CacheError, cache_dir, key_digest
from vist.data.movies import MOVIE_FRAMES, EyeMovementParams, movie_params_dict, render_movie
from vist.data.recording import Recording
from vist.data.retina import RetinaParams, calibrate, contour, make_cells, rates, spike_trials

log = logging.getLogger(__name__)

SIMULATOR_VERSION = 1
"""Bumped whenever the simulator's output changes, so stale cache files are not reused."""

STIMULUS_SEED = 2017
"""The movies are fixed stimuli, like the paper's: their seed does not follow the retina's."""

MOVIES = ("mov1", "mov2")


def simulate(movie: str = "mov1", seed: int = 0, trials: int = 20, n_frames: int | None = None,
             retina: RetinaParams | None = None, eye: EyeMovementParams | None = None) -> Recording:
    """Simulate the virtual retina ``seed`` watching ``movie`` for ``trials`` repeats (no cache).

    Args:
        movie: ``"mov1"`` (1800 frames) or ``"mov2"`` (1600 frames).
        seed: the retina (cell layout, filters, thresholds) and its spike noise.
        trials: repeated presentations.
        n_frames: shorten the movie (tests, quick looks); ``None`` = the full movie.
        retina: retina parameters (default :class:`~vist.data.retina.RetinaParams`).
        eye: eye-movement parameters of the movie.
    """
    if movie not in MOVIES:
        raise ValueError(f"unknown movie {movie!r}; expected one of {list(MOVIES)}")
    if int(trials) < 1:
        raise ValueError(f"trials: expected a positive number of trials, found {trials}")
    params = retina or RetinaParams()
    eye = eye or EyeMovementParams()
    cells = make_cells(params, seed)
    calib = render_movie("calibration", seed=STIMULUS_SEED, params=eye)
    cells = calibrate(cells, params, calib.frames)
    mv = render_movie(movie, n_frames=n_frames, seed=STIMULUS_SEED, params=eye)
    lam = rates(mv.frames, cells, params)
    rng = np.random.default_rng([seed, MOVIES.index(movie), 11])
    spikes = spike_trials(lam, int(trials), params, rng)
    types = [params.types[i].name for i in cells.type_index]
    meta = {
        "movie": movie,
        "seed": int(seed),
        "trials": int(trials),
        "simulator_version": SIMULATOR_VERSION,
        "cell_type": types,
        "cells": cells.to_dict(),
        "retina_params": params.to_dict(),
        "eye_params": movie_params_dict(eye),
        "eye_x": [round(float(v), 2) for v in mv.eye[:, 0]],
        "eye_y": [round(float(v), 2) for v in mv.eye[:, 1]],
        "scene": mv.scene.tolist(),
        "scene_images": mv.scene_images,
        "description": (f"simulated salamander retina (vist virtual retina v{SIMULATOR_VERSION}, "
                        f"seed {seed}), {movie}, {trials} trials"),
    }
    contours = [contour(cells, i, params.contour_sigma) for i in range(len(cells.x))]
    return Recording(frames=mv.frames, spikes=spikes, rf_contours=contours,
                     name=f"synthetic-{movie}-seed{seed}", source="synthetic", true_rates=lam,
                     meta=meta)


def load_synthetic(movie: str = "mov1", seed: int = 0, trials: int = 20, n_frames: int | None = None,
                   retina: RetinaParams | None = None, eye: EyeMovementParams | None = None,
                   cache: bool = True) -> Recording:
    """:func:`simulate`, cached under ``vist.cache.cache_dir()/recordings``.

    A cache file that fails verification is reported with a warning, deleted and regenerated.
    """
    if movie not in MOVIES:
        raise ValueError(f"unknown movie {movie!r}; expected one of {list(MOVIES)}")
    if not cache:
        return simulate(movie, seed, trials, n_frames, retina, eye)
    key = {"movie": movie, "seed": int(seed), "trials": int(trials),
           "n_frames": MOVIE_FRAMES[movie] if n_frames is None else int(n_frames),
           "retina": (retina or RetinaParams()).to_dict(),
           "eye": movie_params_dict(eye or EyeMovementParams()), "version": SIMULATOR_VERSION}
    key = json.loads(json.dumps(key))  # the form it takes once stored as JSON (tuples → lists)
    path = cache_dir() / "recordings" / f"synthetic-{movie}-seed{seed}-{key_digest(key)}.npz"
    if path.exists():
        try:
            rec = Recording.load(path)
            if rec.meta.get("cache_key") == key:
                return rec
            warnings.warn(f"cached recording {path} was made with other settings; regenerating",
                          stacklevel=2)
        except (CacheError, ValueError, KeyError, OSError) as err:
            warnings.warn(f"cached recording {path} is corrupted ({err}); regenerating", stacklevel=2)
        path.unlink(missing_ok=True)
    rec = simulate(movie, seed, trials, n_frames, retina, eye)
    rec = replace(rec, meta={**rec.meta, "cache_key": key})
    rec.save(path)
    log.info("cached %s at %s", rec.name, path)
    return rec
