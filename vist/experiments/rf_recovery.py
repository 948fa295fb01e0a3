"""Receptive fields recovered from a trained model, against the virtual retina's true ones.

Beyond the paper (SPEC §6). The method is a **linear probe**, the experimenter's spike-triggered
average made to work on natural movies:

1. the stimulus is each patch's *contrast change*, on a 16×16 patch grid (the paper's): the mean
   luminance ``L_p(t)`` of the frame pixels under patch ``p`` as contrast ``(L_p − μ) / μ`` (``μ``
   the movie's mean grey level), differenced from frame to frame — fixations hold a patch's
   contrast for many frames and the cells respond to its changes, so differencing whitens the
   stimulus in time: ``s [T, G·G]``;
2. for each lag ``τ = 0 … lags−1`` the cross-covariance of ``s(t − τ)`` with a cell's response
   ``r(t)`` is *whitened* by the stimulus' spatial covariance (ridge-regularised: ``λ`` = ``ridge``
   × its mean eigenvalue): natural images are smooth, and a raw average would blur every map
   over the neighbouring patches;
3. the ``[lags, G·G]`` weights of each cell are reduced to their best rank-1 (space × time)
   approximation; the spatial factor is the recovered map, signed so that the temporal factor's
   largest value is positive (an OFF cell's map is then negative, as its true RF).

Both movies are used (the model's responses over its training and its test movie): on this
virtual retina the probe recovers the true RFs from the noise-free rates about half again as well
from both movies (3400 frames) as from one (measured while choosing ``lags = 10`` and
``ridge = 10``; the chapter reports the numbers for each run).

The probe treats the responder as a black box, so it applies alike to the trained model's
predicted rates, to the simulator's noise-free rates (``true_rates``: how well the *probe* can do
with a perfect model — its ceiling on these movies; it cannot recover the ON-OFF cells, whose
response to a contrast change is symmetric in its sign) and to the recorded trial means (what an
experimenter would get from these trials). Agreement is the Pearson r, over the ``G·G``
patches, between a recovered map and the true RF pooled onto the same grid (the simulator's
centre − surround, :func:`vist.data.retina.spatial_rf`, integrated over each patch). A shuffled
control pairs each recovered map with another cell's true RF.

We chose this over gradients of the model's output with respect to its input: the frozen ViT
sits between pixels and model, so an input gradient costs a backward pass through the ViT per cell
and frame, and the gradient with respect to the ViT's patch features has ``D`` numbers per patch
with no sign or unit that compares with an RF. The probe measures what the predictions do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields, replace
from typing import Any

import numpy as np

from vist.data import Recording
from vist.data.retina import Cells, CellType, RetinaParams, spatial_rf
from vist.env import resolve_device
from vist.train.evaluate import predict
from vist.train.inputs import prepare


def patch_overlap(n: int, grid: int) -> np.ndarray:
    """``float64 [grid, n]``: the length of pixel ``x``'s extent ``[x, x+1)`` inside patch ``g``'s
    ``[g·n/grid, (g+1)·n/grid)`` — the map from a row of ``n`` pixels to ``grid`` patches (each
    pixel's column sums to 1, each patch's row to ``n/grid``)."""
    if n < 1 or grid < 1:
        raise ValueError(f"patch_overlap: expected positive sizes, found n={n}, grid={grid}")
    edges = np.arange(grid + 1) * (n / grid)
    x = np.arange(n)
    lo = np.maximum(edges[:-1, None], x[None])
    hi = np.minimum(edges[1:, None], x[None] + 1)
    return np.clip(hi - lo, 0.0, None)


def to_grid(images: np.ndarray, grid: int, mean: bool = False) -> np.ndarray:
    """Integrate (or average, ``mean=True``) ``[..., H, W]`` images over a ``grid × grid`` patch
    grid laid over the whole frame: ``[..., grid, grid]``."""
    a = np.asarray(images, dtype=np.float64)
    ay, ax = patch_overlap(a.shape[-2], grid), patch_overlap(a.shape[-1], grid)
    out = np.einsum("gy,...yx,hx->...gh", ay, a, ax, optimize=True)
    if mean:
        out /= (a.shape[-2] / grid) * (a.shape[-1] / grid)
    return out


def patch_contrast(frames: np.ndarray, grid: int = 16) -> np.ndarray:
    """Each patch's contrast per frame, ``float64 [T, grid·grid]`` (row-major patches, like the
    prior's tokens): patch mean luminance ``L`` as ``(L − μ) / μ``, ``μ`` the movie's mean."""
    f = np.asarray(frames)
    if f.ndim != 3:
        raise ValueError(f"patch_contrast: expected frames [T, H, W], found shape {f.shape}")
    lum = np.concatenate([to_grid(f[i:i + 256], grid, mean=True) for i in range(0, len(f), 256)])
    lum = lum.reshape(len(f), grid * grid)
    mu = float(f.mean())
    return (lum - mu) / mu


def _cells_from_meta(rec: Recording) -> tuple[Cells, RetinaParams]:
    meta = rec.meta
    if "cells" not in meta or "retina_params" not in meta:
        raise ValueError(f"true receptive fields need the virtual retina's parameters; {rec.name} "
                         f"(source {rec.source!r}) has none — only data='synthetic' has them")
    c = {k: np.asarray(v) for k, v in meta["cells"].items()}
    cells = Cells(**{f.name: c[f.name] for f in fields(Cells) if f.name in c})
    p = dict(meta["retina_params"])
    types = tuple(CellType(**{**t, "max_rate": tuple(t["max_rate"])}) for t in p.pop("types"))
    tuples = {k: tuple(v) for k, v in p.items() if isinstance(v, list)}
    return cells, RetinaParams(types=types, **{**p, **tuples})


def true_receptive_fields(rec: Recording, grid: int = 16) -> np.ndarray:
    """The simulator's spatial RFs (centre − surround, OFF negative) of ``rec``'s cells integrated
    over the patch grid: ``float64 [cells, grid, grid]``.

    Raises:
        ValueError: ``rec`` is not from the virtual retina.
    """
    cells, params = _cells_from_meta(rec)
    index = rec.meta.get("cell_index", range(len(cells.x)))
    shape = rec.frame_shape
    return np.stack([to_grid(spatial_rf(cells, params, int(i), shape), grid) for i in index])


def contrast_change(frames: np.ndarray, grid: int = 16) -> np.ndarray:
    """The probe's stimulus: each patch's contrast change from the previous frame,
    ``float64 [T, grid·grid]`` (0 at the first frame). Differencing whitens the movie in time:
    fixations hold a patch's contrast for many frames, and the cells respond to its changes."""
    c = patch_contrast(frames, grid)
    return np.diff(c, axis=0, prepend=c[:1])


def linear_probe(stimulus: Sequence[np.ndarray], response: Sequence[np.ndarray], lags: int = 10,
                 ridge: float = 10.0) -> tuple[np.ndarray, np.ndarray]:
    """Whitened, rank-1 spike-triggered average (see the module docstring).

    Args:
        stimulus: per movie segment, ``[T_k, P]`` stimulus (e.g. :func:`contrast_change`).
        response: per segment, ``[T_k, C]`` rates of ``C`` cells over the same frames. Lagged
            pairs never cross from one segment into the next.
        lags: frames of history (lag 0 = the same frame).
        ridge: regularisation, as a multiple of the stimulus covariance's mean eigenvalue.

    Returns:
        ``(maps [C, P], temporal [C, lags])``: each cell's spatial map (unit norm, signed) and
        temporal profile (its largest value positive).
    """
    if isinstance(stimulus, np.ndarray):
        stimulus, response = [stimulus], [response]
    if len(stimulus) != len(response) or not stimulus:
        raise ValueError(f"linear_probe: expected as many stimulus as response segments (≥ 1), found "
                         f"{len(stimulus)} and {len(response)}")
    ss = [np.asarray(x, dtype=np.float64) for x in stimulus]
    rs = [np.asarray(x, dtype=np.float64) for x in response]
    for s, r in zip(ss, rs, strict=True):
        if s.ndim != 2 or r.ndim != 2 or s.shape[0] != r.shape[0] or s.shape[1] != ss[0].shape[1] \
                or r.shape[1] != rs[0].shape[1]:
            raise ValueError(f"linear_probe: expected stimulus [T, P] and response [T, C] with equal T "
                             f"(and equal P, C across segments); found {s.shape} and {r.shape}")
        if not 1 <= lags < s.shape[0]:
            raise ValueError(f"linear_probe: expected 1 ≤ lags < T = {s.shape[0]}, found {lags}")
    s_mean = np.concatenate(ss).mean(axis=0)
    r_mean = np.concatenate(rs).mean(axis=0)
    ss = [s - s_mean for s in ss]
    rs = [r - r_mean for r in rs]
    P, C = ss[0].shape[1], rs[0].shape[1]
    n = sum(len(s) for s in ss)
    cov = sum(s.T @ s for s in ss) / n
    inv = np.linalg.inv(cov + ridge * np.trace(cov) / P * np.eye(P))
    w = np.zeros((lags, P, C))
    for tau in range(lags):
        xc = sum(s[: len(s) - tau].T @ r[tau:] for s, r in zip(ss, rs, strict=True))
        w[tau] = inv @ (xc / sum(len(s) - tau for s in ss))
    maps = np.zeros((C, P))
    temporal = np.zeros((C, lags))
    for c in range(C):
        u, sv, vt = np.linalg.svd(w[:, :, c], full_matrices=False)
        t, m = u[:, 0] * sv[0], vt[0]
        if t[np.argmax(np.abs(t))] < 0:
            t, m = -t, -m
        maps[c], temporal[c] = m, t
    return maps, temporal


def agreement(recovered: np.ndarray, true: np.ndarray) -> np.ndarray:
    """Pearson r per cell between recovered and true maps, ``[C, ...]`` each (flattened per cell);
    ``nan`` where either map is constant."""
    a = np.asarray(recovered, dtype=np.float64).reshape(len(recovered), -1)
    b = np.asarray(true, dtype=np.float64).reshape(len(true), -1)
    if a.shape != b.shape:
        raise ValueError(f"agreement: expected maps of equal shape, found {a.shape} and {b.shape}")
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    den = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (a * b).sum(axis=1) / den, np.nan)


def shuffled_agreement(recovered: np.ndarray, true: np.ndarray, seed: int = 0) -> np.ndarray:
    """The chance level: each recovered map against another cell's true RF (a random derangement)."""
    n = len(recovered)
    rng = np.random.default_rng(seed)
    perm = rng.permutation(n)
    while n > 1 and np.any(perm == np.arange(n)):
        perm = rng.permutation(n)
    return agreement(recovered, np.asarray(true)[perm])


def recover(segments: Sequence[tuple[Recording, np.ndarray]], grid: int = 16, lags: int = 10,
            ridge: float = 10.0) -> dict[str, Any]:
    """Maps and agreement for a model's predictions on virtual-retina recordings.

    Args:
        segments: ``(recording, pred)`` pairs — the model's predicted rates ``[T, cells]`` over
            every frame of that recording (e.g. its test movie and its training movie).
        grid, lags, ridge: the probe (:func:`linear_probe`).

    Returns:
        ``{"true": [C, G, G], "maps": {name: [C, G, G]}, "temporal": {name: [C, lags]},
        "r": {name: [C]}, "r_shuffled": {name: [C]}}`` for each responder name ``"model"``,
        ``"true rates"`` (the simulator's noise-free rates: the probe's ceiling) and
        ``"recorded"`` (trial means).
    """
    if not segments:
        raise ValueError("recover: expected at least one (recording, predictions) pair")
    true = None
    stim, resp = [], {"model": [], "true rates": [], "recorded": []}
    for rec, pred in segments:
        if rec.true_rates is None:
            raise ValueError(f"recover: {rec.name} has no true rates; only data='synthetic' does")
        if pred.shape != rec.rates.shape:
            raise ValueError(f"recover: predictions {pred.shape} do not cover {rec.name}'s frames × cells "
                             f"{rec.rates.shape}")
        if true is None:
            true, first = true_receptive_fields(rec, grid), rec
        elif (rec.meta.get("cells"), rec.meta.get("cell_index")) != (first.meta.get("cells"), first.meta.get("cell_index")):
            raise ValueError(f"recover: {rec.name} and {first.name} come from different retinas or cells")
        stim.append(contrast_change(rec.frames, grid))
        for name, r in (("model", pred), ("true rates", rec.true_rates), ("recorded", rec.rates)):
            resp[name].append(r)
    out: dict[str, Any] = {"true": true, "maps": {}, "temporal": {}, "r": {}, "r_shuffled": {}}
    for name, r in resp.items():
        maps, temporal = linear_probe(stim, r, lags, ridge)
        maps = maps.reshape(-1, grid, grid)
        out["maps"][name], out["temporal"][name] = maps, temporal
        out["r"][name] = agreement(maps, true)
        out["r_shuffled"][name] = shuffled_agreement(maps, true)
    return out


def model_responses(run: Any, device: str = "auto") -> dict[str, np.ndarray]:
    """A stored run's predicted rates over *every* frame of its training and its test movie:
    ``{movie: [T, cells]}``. The test movie's are the stored predictions when they cover the
    movie; the rest are computed with the run's final model, each movie as one causal sequence
    (as the test split is evaluated). Cross-movie runs only."""
    spec = run.spec
    if not spec.cross_movie:
        raise ValueError("model_responses: expected a cross-movie run (train_movie != test_movie), found "
                         f"{spec.train_movie}→{spec.test_movie}")
    dev = resolve_device(device)
    data = prepare(spec, dev)
    model = run.model().to(dev)
    out = {spec.test_movie: run.predictions()["pred"]}
    train = replace(data, test_x=data.train_x, test_segments=((0, int(data.train_x.shape[0])),))
    out[spec.train_movie] = predict(model, train, dev, bf16=bool(run.record["settings"].get("bf16", True)))
    return out


def by_type(result: dict[str, Any], cell_types: Sequence[str]) -> list[dict[str, Any]]:
    """Median agreement per cell type and responder (and for all cells), with the shuffled control."""
    types = np.asarray(list(cell_types))
    rows = []
    for t in [*dict.fromkeys(types.tolist()), "all cells"]:
        sel = np.ones(len(types), bool) if t == "all cells" else types == t
        row: dict[str, Any] = {"cell type": t, "cells": int(sel.sum())}
        for name, r in result["r"].items():
            row[f"r ({name})"] = float(np.nanmedian(r[sel]))
        row["r (model, shuffled control)"] = float(np.nanmedian(result["r_shuffled"]["model"][sel]))
        rows.append(row)
    return rows


def findings(result: dict[str, Any], cc: np.ndarray) -> list[str]:
    """Sentences about a recovery (:func:`recover`), computed from it: the median agreement of the
    model's maps against the probe's ceiling (its agreement on the noise-free rates) and the
    shuffled control, the fraction of the ceiling reached, and how agreement follows a cell's CC
    (``cc``: per-cell CC of the model's run)."""
    model = float(np.nanmedian(result["r"]["model"]))
    ceiling = float(np.nanmedian(result["r"]["true rates"]))
    shuffled = float(np.nanmedian(result["r_shuffled"]["model"]))
    frac = model / ceiling if ceiling > 0 else float("nan")
    out = [f"The model's maps agree with the true receptive fields with a median r of {model:.3f}, "
           f"against {ceiling:.3f} for the probe on the noise-free rates (its ceiling) and {shuffled:.3f} "
           f"for the shuffled control: {frac:.0%} of the ceiling."]
    ok = np.isfinite(result["r"]["model"]) & np.isfinite(cc)
    if ok.sum() > 2:
        r = float(np.corrcoef(result["r"]["model"][ok], cc[ok])[0, 1])
        out.append(f"Across cells, map agreement and the cell's CC correlate with r = {r:.2f}"
                   + (": the better a cell is predicted, the better its map." if r > 0.3 else "."))
    return out
