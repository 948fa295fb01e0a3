"""A virtual salamander retina: ganglion cells of several types responding to a movie.

Each cell is a cascade (all lengths in frame pixels, all times in frames at 30 Hz):

1. **Stimulus**: the movie as contrast, ``c = (I − μ) / μ`` with ``μ`` the movie's mean grey
   level, simulated at 1/``sim_scale`` of the frame resolution (4 px per sample by default).
2. **Receptive field**: an elliptical Gaussian centre and a wider, weaker Gaussian surround
   (difference of Gaussians), each with a biphasic temporal filter (peak 2–5 frames); the
   surround is slower. OFF cells respond to dimming, ON cells to brightening.
3. **Subunits** (part of the population, and every ON-OFF cell): the centre pools rectified
   bipolar-like subunits (small Gaussians, shared by the cells of a type) instead of summing
   contrast linearly — the LN-LN model of salamander ganglion cells. ON-OFF cells pool both
   ON and OFF rectified subunits.
4. **Fast contrast gain control**: the generator is divided by ``1 + κ·a(t)``, where ``a(t)``
   is the running RMS of the generator over the last few frames (time constant ``gain_tau``).
5. **Output nonlinearity**: ``λ = r_max · u² / (1 + u²)`` with ``u = max(0, (g − θ) / s)``.
   Thresholds ``θ`` and scales ``s`` are fixed per cell on a *calibration* movie made of other
   photographs, so the same retina keeps the same thresholds whichever movie it watches.
6. **Spikes**: counts per frame bin ``~ Binomial(n_max, γ(t) λ / n_max)`` — sub-Poisson, as a
   refractory period allows at most ``n_max`` spikes in a 33 ms bin. ``γ(t)`` is a slow
   log-normal gain of mean 1 that differs between trials (shared by all cells), the trial-to-trial
   variability that makes real repeats disagree beyond spike-count noise. ``λ`` is kept as the
   ground truth (``true_rates``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
from scipy import ndimage


@dataclass(frozen=True)
class CellType:
    """One functional type of ganglion cell and its mosaic.

    Attributes:
        name: e.g. ``"OFF fast"``.
        count: cells of this type.
        polarity: ``"OFF"``, ``"ON"`` or ``"ON-OFF"``.
        centre_sigma: geometric mean of the centre Gaussian's two standard deviations (px).
        surround_ratio: surround σ / centre σ.
        surround_weight: surround strength relative to the centre's (both normalised to sum 1).
        peak_frame: time to peak of the temporal filter (frames; 1 frame = 33.3 ms).
        biphasic: relative size of the filter's second, opposite lobe.
        subunit_fraction: fraction of the type's cells whose centre pools rectified subunits.
        gain_control: strength ``κ`` of the fast divisive contrast gain control.
        max_rate: range of the cells' peak expected spike count per frame bin.
    """

    name: str
    count: int
    polarity: str
    centre_sigma: float
    surround_ratio: float
    surround_weight: float
    peak_frame: float
    biphasic: float
    subunit_fraction: float
    gain_control: float
    max_rate: tuple[float, float]


DEFAULT_TYPES: tuple[CellType, ...] = (
    CellType("OFF fast", 36, "OFF", 11.0, 2.2, 0.55, 2.5, 0.60, 0.5, 1.5, (3.0, 5.0)),
    CellType("OFF slow", 24, "OFF", 13.0, 2.0, 0.45, 4.5, 0.35, 0.3, 1.0, (2.0, 4.0)),
    CellType("ON", 18, "ON", 10.0, 2.2, 0.50, 3.5, 0.50, 0.3, 1.2, (2.0, 4.0)),
    CellType("ON-OFF", 12, "ON-OFF", 9.0, 2.0, 0.40, 3.0, 0.50, 1.0, 1.5, (2.5, 4.5)),
)
"""Mostly OFF cells (fast and slow), some ON and ON-OFF cells: 90 in all."""


@dataclass(frozen=True)
class RetinaParams:
    """Parameters of the virtual retina (see the module docstring for the cascade).

    Attributes:
        types: the cell types and their counts.
        field: ``(x0, y0, x1, y1)`` region of the frame (px) where cell centres lie — the part of
            the image over the electrode array.
        sim_scale: the cascade runs on frames downsampled by this factor (block mean).
        filter_frames: length of the temporal filters (frames).
        ellipticity: log-normal σ of the centre's axis ratio.
        size_jitter: log-normal σ of the centre size across cells of one type.
        timing_jitter: log-normal σ of the time to peak across cells of one type.
        subunit_sigma: σ of a subunit (px).
        subunit_threshold: subunit rectification threshold (contrast units).
        gain_tau: time constant of the gain control's running RMS (frames).
        sparseness: range of the quantile of a cell's calibration generator at which it starts
            firing (higher: sparser firing).
        trial_gain_sd: σ of the log of a slow multiplicative gain that fluctuates within each trial
            and is shared by all cells (network state); its mean is 1, so ``true_rates`` stays
            the expected count.
        trial_gain_tau: time constant of that fluctuation (frames).
        max_spikes_per_bin: ``n_max`` of the binomial spike count (refractory cap).
        contour_sigma: the RF contour is the centre ellipse at this many σ.
    """

    types: tuple[CellType, ...] = DEFAULT_TYPES
    field: tuple[float, float, float, float] = (60.0, 60.0, 300.0, 300.0)
    sim_scale: int = 4
    filter_frames: int = 25
    ellipticity: float = 0.15
    size_jitter: float = 0.12
    timing_jitter: float = 0.10
    subunit_sigma: float = 4.0
    subunit_threshold: float = 0.05
    gain_tau: float = 3.0
    sparseness: tuple[float, float] = (0.85, 0.93)
    trial_gain_sd: float = 0.25
    trial_gain_tau: float = 30.0
    max_spikes_per_bin: int = 6
    contour_sigma: float = 1.5

    @property
    def n_cells(self) -> int:
        return sum(t.count for t in self.types)

    def to_dict(self) -> dict:
        """JSON-serialisable form (for metadata and cache keys)."""
        return asdict(self)


@dataclass
class Cells:
    """Per-cell parameters of one virtual retina (arrays of length ``cells``).

    Positions and sizes in frame pixels; ``angle`` in radians; ``tau`` (time to peak) in frames.
    ``threshold``, ``scale`` and ``rms`` are set by calibration.
    """

    type_index: np.ndarray
    x: np.ndarray
    y: np.ndarray
    sigma_major: np.ndarray
    sigma_minor: np.ndarray
    angle: np.ndarray
    tau: np.ndarray
    biphasic: np.ndarray
    subunits: np.ndarray
    max_rate: np.ndarray
    sparseness: np.ndarray
    threshold: np.ndarray = field(default_factory=lambda: np.zeros(0))
    scale: np.ndarray = field(default_factory=lambda: np.zeros(0))
    rms: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def subset(self, idx: np.ndarray) -> Cells:
        """The cells ``idx`` (integer indices), every per-cell array indexed alike; arrays that are
        not per cell (uncalibrated, empty) are kept as they are."""
        n = len(self.x)
        return Cells(**{k: (v[idx] if isinstance(v, np.ndarray) and v.size == n else v)
                        for k, v in asdict(self).items()})

    def to_dict(self) -> dict[str, list]:
        """JSON-serialisable form (lists rounded to 6 significant digits)."""
        return {k: [float(f"{v:.6g}") if isinstance(v, float | np.floating) else v.item()
                    for v in np.asarray(a)] for k, a in asdict(self).items()}


def _mosaic(n: int, region: tuple[float, float, float, float], rng: np.random.Generator) -> np.ndarray:
    """``n`` points in ``region`` with an exclusion zone, like a ganglion-cell mosaic: ``[n, 2]``."""
    x0, y0, x1, y1 = region
    spacing = np.sqrt((x1 - x0) * (y1 - y0) / n)
    min_dist = 0.75 * spacing
    pts: list[np.ndarray] = []
    tries = 0
    while len(pts) < n:
        p = rng.uniform((x0, y0), (x1, y1))
        if not pts or np.min(np.linalg.norm(np.array(pts) - p, axis=1)) >= min_dist:
            pts.append(p)
        tries += 1
        if tries % 2000 == 0:  # dense corner cases: relax the exclusion zone
            min_dist *= 0.95
    return np.array(pts)


def make_cells(params: RetinaParams, seed: int) -> Cells:
    """Draw the cells of one retina (positions, shapes, filters) for ``seed`` (a non-negative integer)."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed: expected a non-negative integer (the virtual retina), found {seed!r}")
    rng = np.random.default_rng([seed, 7])
    cols: dict[str, list] = {k: [] for k in ("type_index", "x", "y", "sigma_major", "sigma_minor",
                                            "angle", "tau", "biphasic", "subunits", "max_rate",
                                            "sparseness")}
    for ti, t in enumerate(params.types):
        pos = _mosaic(t.count, params.field, rng)
        size = t.centre_sigma * np.exp(rng.normal(0, params.size_jitter, t.count))
        ratio = np.exp(np.abs(rng.normal(0, params.ellipticity, t.count)))
        cols["type_index"] += [ti] * t.count
        cols["x"] += list(pos[:, 0])
        cols["y"] += list(pos[:, 1])
        cols["sigma_major"] += list(size * np.sqrt(ratio))
        cols["sigma_minor"] += list(size / np.sqrt(ratio))
        cols["angle"] += list(rng.uniform(0, np.pi, t.count))
        cols["tau"] += list(t.peak_frame * np.exp(rng.normal(0, params.timing_jitter, t.count)))
        cols["biphasic"] += list(np.clip(t.biphasic + rng.normal(0, 0.05, t.count), 0.1, 0.9))
        n_sub = int(round(t.subunit_fraction * t.count))
        cols["subunits"] += list(rng.permutation(np.arange(t.count) < n_sub))
        cols["max_rate"] += list(rng.uniform(*t.max_rate, t.count))
        cols["sparseness"] += list(rng.uniform(*params.sparseness, t.count))
    arrays = {k: np.asarray(v) for k, v in cols.items()}
    arrays["type_index"] = arrays["type_index"].astype(np.int64)
    arrays["subunits"] = arrays["subunits"].astype(bool)
    return Cells(**arrays)


def temporal_filter(tau: float, biphasic: float, length: int) -> np.ndarray:
    """Biphasic temporal filter ``float64 [length]`` indexed by lag in frames (lag 0 = now).

    ``f(t; τ) = (t/τ)³ exp(−3 (t/τ − 1))`` peaks at ``t = τ``; the filter is
    ``f(t; τ) − b · f(t; 1.8 τ)``, scaled so that its absolute values sum to 1.
    """
    t = np.arange(length, dtype=np.float64)

    def lobe(tt: float) -> np.ndarray:
        return (t / tt) ** 3 * np.exp(-3 * (t / tt - 1))

    k = lobe(tau) - biphasic * lobe(1.8 * tau)
    return k / np.abs(k).sum()


def contour(cells: Cells, i: int, n_sigma: float, points: int = 32) -> np.ndarray:
    """Cell ``i``'s centre ellipse at ``n_sigma`` σ as a ``[2, points]`` polygon (x row, y row)."""
    phi = np.linspace(0, 2 * np.pi, points, endpoint=False)
    a, b, th = cells.sigma_major[i] * n_sigma, cells.sigma_minor[i] * n_sigma, cells.angle[i]
    x = cells.x[i] + a * np.cos(phi) * np.cos(th) - b * np.sin(phi) * np.sin(th)
    y = cells.y[i] + a * np.cos(phi) * np.sin(th) + b * np.sin(phi) * np.cos(th)
    return np.stack([x, y])


def _gaussians(cells: Cells, grid_x: np.ndarray, grid_y: np.ndarray, widen: float) -> np.ndarray:
    """Elliptical Gaussians of every cell on the sample points, each summing to 1: ``[P, cells]``."""
    dx = grid_x[:, None] - cells.x[None]
    dy = grid_y[:, None] - cells.y[None]
    c, s = np.cos(cells.angle), np.sin(cells.angle)
    u = (dx * c + dy * s) / (cells.sigma_major * widen)
    v = (-dx * s + dy * c) / (cells.sigma_minor * widen)
    w = np.exp(-0.5 * (u * u + v * v))
    return w / w.sum(axis=0, keepdims=True)


def spatial_rf(cells: Cells, params: RetinaParams, i: int, shape: tuple[int, int]) -> np.ndarray:
    """Cell ``i``'s linear spatial receptive field (centre − surround), ``float64 [H, W]``.

    Sign follows polarity (OFF negative, ON positive; ON-OFF shown positive). The ground truth
    for "did the model recover the receptive fields?".
    """
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]] + 0.5
    one = cells.subset(np.arange(i, i + 1))
    t = params.types[int(cells.type_index[i])]
    centre = _gaussians(one, xx.ravel(), yy.ravel(), 1.0)[:, 0]
    surround = _gaussians(one, xx.ravel(), yy.ravel(), t.surround_ratio)[:, 0]
    sign = -1.0 if t.polarity == "OFF" else 1.0
    return (sign * (centre - t.surround_weight * surround)).reshape(shape)


def _causal_filter(drive: np.ndarray, kernels: np.ndarray) -> np.ndarray:
    """Per-column causal convolution: ``out[t, n] = Σ_l kernels[l, n] · drive[t − l, n]``.

    ``drive [T, N]``, ``kernels [L, N]`` → ``[T, N]``; frames before onset count as zero (grey).
    A movie shorter than the filter (``T < L``) uses only the lags it spans.
    """
    out = np.zeros_like(drive)
    for lag in range(min(kernels.shape[0], drive.shape[0])):
        out[lag:] += kernels[lag] * drive[: drive.shape[0] - lag]
    return out


def _fft_causal_filter(movie: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Causal temporal filtering of every pixel: ``movie [T, P]`` with ``kernel [L]`` → ``[T, P]``."""
    n = movie.shape[0] + kernel.size
    spec = np.fft.rfft(movie, n=n, axis=0) * np.fft.rfft(kernel, n=n)[:, None]
    return np.fft.irfft(spec, n=n, axis=0)[: movie.shape[0]].astype(np.float32)


def contrast_movie(frames: np.ndarray, sim_scale: int) -> np.ndarray:
    """Frames ``uint8 [T, H, W]`` → contrast ``float32 [T, H/s, W/s]`` (block mean, ``(I − μ)/μ``)."""
    t, h, w = frames.shape
    hs, ws = h // sim_scale, w // sim_scale
    small = frames[:, : hs * sim_scale, : ws * sim_scale].reshape(t, hs, sim_scale, ws, sim_scale)
    small = small.mean(axis=(2, 4), dtype=np.float32)
    mu = float(small.mean())
    return (small - mu) / max(mu, 1.0)


def generator(frames: np.ndarray, cells: Cells, params: RetinaParams) -> np.ndarray:
    """Generator signal of every cell before gain control: ``float32 [T, cells]`` (a.u.)."""
    s = params.sim_scale
    c = contrast_movie(frames, s)
    t, hs, ws = c.shape
    gy, gx = (np.mgrid[0:hs, 0:ws] + 0.5) * s
    gx, gy = gx.ravel(), gy.ravel()
    flat = c.reshape(t, -1)
    n = len(cells.x)
    polarity = np.array([params.types[i].polarity for i in cells.type_index])
    sign = np.where(polarity == "OFF", -1.0, 1.0)
    ratio = np.array([params.types[i].surround_ratio for i in cells.type_index])
    w_sur = np.array([params.types[i].surround_weight for i in cells.type_index])
    L = params.filter_frames
    k_c = np.stack([temporal_filter(cells.tau[i], cells.biphasic[i], L) for i in range(n)], axis=1)
    k_s = np.stack([np.concatenate([[0.0], temporal_filter(1.3 * cells.tau[i], cells.biphasic[i], L)[:-1]])
                    for i in range(n)], axis=1)

    W_c = _gaussians(cells, gx, gy, 1.0).astype(np.float32)
    centre = _causal_filter(flat @ W_c, k_c) * sign
    surround = np.zeros((t, n), np.float32)
    for r in np.unique(ratio):  # surround widths are shared within a type
        idx = np.flatnonzero(ratio == r)
        W_s = _gaussians(cells.subset(idx), gx, gy, r).astype(np.float32)
        surround[:, idx] = _causal_filter(flat @ W_s, k_s[:, idx])
    surround *= sign
    onoff = polarity == "ON-OFF"
    surround[:, onoff] = np.abs(surround[:, onoff])

    # Subunit cells: the centre pools rectified subunits shared by all cells of a type.
    blurred = ndimage.gaussian_filter(c, (0, params.subunit_sigma / s, params.subunit_sigma / s))
    blurred = blurred.reshape(t, -1)
    for ti, typ in enumerate(params.types):
        idx = np.flatnonzero((cells.type_index == ti) & cells.subunits)
        if idx.size == 0:
            continue
        v = _fft_causal_filter(blurred, temporal_filter(typ.peak_frame, typ.biphasic, L))
        th = params.subunit_threshold
        if typ.polarity == "ON":
            rect = np.maximum(v - th, 0)
        elif typ.polarity == "OFF":
            rect = np.maximum(-v - th, 0)
        else:
            rect = np.maximum(v - th, 0) + np.maximum(-v - th, 0)
        centre[:, idx] = rect @ W_c[:, idx]
    return (centre - w_sur * surround).astype(np.float32)


def gain_control(g: np.ndarray, cells: Cells, params: RetinaParams) -> np.ndarray:
    """Fast divisive contrast gain control: ``g / (1 + κ · a(t) / rms)`` with ``a`` the running
    RMS of ``g`` (exponential, time constant ``gain_tau`` frames). ``[T, cells]`` → ``[T, cells]``."""
    kappa = np.array([params.types[i].gain_control for i in cells.type_index])
    alpha = 1.0 / params.gain_tau
    energy = np.empty_like(g)
    acc = np.zeros(g.shape[1], np.float64)
    for t in range(g.shape[0]):
        acc = (1 - alpha) * acc + alpha * g[t].astype(np.float64) ** 2
        energy[t] = acc
    return g / (1.0 + kappa * np.sqrt(energy) / cells.rms)


def calibrate(cells: Cells, params: RetinaParams, frames: np.ndarray) -> Cells:
    """Fix each cell's ``rms``, ``threshold`` and ``scale`` from its response to ``frames``."""
    g = generator(frames, cells, params)
    cells.rms = np.sqrt((g.astype(np.float64) ** 2).mean(axis=0)) + 1e-12
    h = gain_control(g, cells, params)
    cells.threshold = np.array([np.quantile(h[:, i], cells.sparseness[i]) for i in range(h.shape[1])])
    top = np.quantile(h, 0.995, axis=0)
    cells.scale = np.maximum((top - cells.threshold) / 2.0, 1e-9)
    return cells


def rates(frames: np.ndarray, cells: Cells, params: RetinaParams) -> np.ndarray:
    """Noise-free expected spike count per frame bin, ``float32 [T, cells]``."""
    h = gain_control(generator(frames, cells, params), cells, params)
    u = np.maximum((h - cells.threshold) / cells.scale, 0)
    return (cells.max_rate * u * u / (1 + u * u)).astype(np.float32)


def trial_gains(trials: int, n_frames: int, params: RetinaParams, rng: np.random.Generator) -> np.ndarray:
    """Slow log-normal gain of mean 1 per trial and frame, ``float64 [trials, T, 1]``.

    The log gain is a stationary Ornstein–Uhlenbeck process (σ ``trial_gain_sd``, time constant
    ``trial_gain_tau`` frames), shifted by ``−σ²/2`` so that the gain's expectation is 1.
    """
    sd, a = params.trial_gain_sd, np.exp(-1.0 / params.trial_gain_tau)
    x = np.empty((trials, n_frames))
    x[:, 0] = rng.normal(0, sd, trials)
    noise = rng.normal(0, sd * np.sqrt(1 - a * a), (trials, n_frames))
    for t in range(1, n_frames):
        x[:, t] = a * x[:, t - 1] + noise[:, t]
    return np.exp(x - sd * sd / 2)[..., None]


def spike_trials(lam: np.ndarray, trials: int, params: RetinaParams,
                 rng: np.random.Generator) -> np.ndarray:
    """Spike counts ``uint8 [trials, T, cells]`` whose expectation is ``lam [T, cells]``.

    Binomial with ``n_max`` = ``max_spikes_per_bin`` and ``p = γ λ / n_max`` (clipped to 1, which
    peak rates below ``n_max / 2`` make rare), ``γ`` from :func:`trial_gains`.
    """
    n = params.max_spikes_per_bin
    gain = trial_gains(trials, lam.shape[0], params, rng)
    p = np.clip(gain * lam[None] / n, 0.0, 1.0)
    return rng.binomial(n, p).astype(np.uint8)


def _attribute_docs(cls: type) -> dict[str, str]:
    """``name: text`` entries of a class docstring's ``Attributes:`` section."""
    doc = (cls.__doc__ or "").split("Attributes:", 1)[-1]
    out: dict[str, str] = {}
    name = None
    for line in doc.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        head, sep, rest = stripped.partition(": ")
        if sep and head.isidentifier() and line.startswith(" " * 8) and not line.startswith(" " * 12):
            name = head
            out[name] = rest
        elif name:
            out[name] += " " + stripped
    return out


def parameter_rows(params: RetinaParams) -> tuple[list[dict], list[dict]]:
    """The retina's parameters as table rows: ``(global rows, one row per cell type)``.

    Global rows have ``parameter``, ``value`` and ``meaning`` (from the docstrings above).
    """
    docs = _attribute_docs(RetinaParams)
    rows = [{"parameter": k, "value": v, "meaning": docs.get(k, "")}
            for k, v in asdict(params).items() if k != "types"]
    types = [asdict(t) for t in params.types]
    return rows, types
