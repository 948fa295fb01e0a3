"""The priors: preprocessing, weights files, LayerScale, the feature cache, bad input."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import timm
import torch
from skimage import data as skdata

from vist.cache import digest
from vist.env import bf16_supported
from vist.prior import I3DPrior, PixelPrior, ViTPrior, make_prior
from vist.prior.store import entry_paths

SMALL = "vit_small_patch14_dinov2"


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("VIST_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def frames() -> np.ndarray:
    """uint8 [12, 90, 90]: a drifting crop of the camera photograph."""
    img = skdata.camera()
    return np.stack([img[100 + 3 * t: 190 + 3 * t, 200 + 2 * t: 290 + 2 * t] for t in range(12)])


def small_prior(**kw) -> ViTPrior:
    opts = {"img_size": 42, "precision": "fp32", "device": "cpu"}
    opts.update(kw)
    return ViTPrior(SMALL, **opts)


def test_features_shape_dtype_label(frames):
    p = small_prior()
    f = p.features(frames)
    assert f.shape == (12, 9, 384) and f.dtype == np.float16
    assert np.isfinite(f).all() and f.std() > 0.1
    assert "untrained" in p.label and "seed 0" in p.label and "LayerScale=1" in p.label
    assert p.layer == -1 and p.block == 11 and p.layer_name == "L-1"


def test_seed_changes_random_init(frames):
    a = small_prior(seed=0, cache=False).features(frames)
    b = small_prior(seed=0, cache=False).features(frames)
    c = small_prior(seed=1, cache=False).features(frames)
    np.testing.assert_array_equal(a, b)
    assert np.abs(a.astype(np.float32) - c).mean() > 0.1


def test_layer_features_match_features(frames):
    p = small_prior(layer=-3, cache=False)
    many = p.layer_features(frames[:4], [-3, -1, 0])
    assert set(many) == {-3, -1, 0}
    np.testing.assert_allclose(many[-3], p.features(frames[:4]).astype(np.float32), atol=2e-2)
    assert not np.allclose(many[-1], many[-3], atol=1e-2)


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.reshape(-1).astype(np.float64), b.reshape(-1).astype(np.float64)
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


def test_timm_layerscale_makes_untrained_depth_irrelevant(frames):
    timm_default = small_prior(untrained_layerscale=None, cache=False)
    deep = small_prior(untrained_layerscale=1.0, cache=False)
    assert "timm default" in timm_default.label
    assert timm_default.model.blocks[0].ls1.gamma.max().item() == pytest.approx(1e-5)
    shallow_net = timm_default.layer_features(frames[:4], [0, -1])
    deep_net = deep.layer_features(frames[:4], [0, -1])
    # LayerScale 1e-5: the last block's features are the first block's (≈ the patch embedding)
    assert _cos(shallow_net[0], shallow_net[-1]) > 0.999
    # LayerScale 1: a deep random network whose depth changes the features
    assert _cos(deep_net[0], deep_net[-1]) < 0.9


def _write_checkpoint(path, img_size: int, seed: int, official: bool = False) -> torch.nn.Module:
    torch.manual_seed(seed)
    m = timm.create_model(SMALL, pretrained=False, img_size=img_size, num_classes=0)
    with torch.no_grad():
        for blk in m.blocks:
            blk.ls1.gamma.uniform_(0.5, 1.5)
            blk.ls2.gamma.uniform_(0.5, 1.5)
    sd = m.state_dict()
    if str(path).endswith(".safetensors"):
        from safetensors.torch import save_file

        save_file({k: v.contiguous() for k, v in sd.items()}, str(path))
    else:
        if official:  # the DINOv2 release files carry the masked-modelling token
            sd = {**sd, "mask_token": torch.zeros(1, sd["cls_token"].shape[-1])}
        torch.save(sd, path)
    return m.eval()


@pytest.mark.parametrize("name", ["model.safetensors", "dinov2_vits14_pretrain.pth"])
def test_weights_file_loaded_exactly(tmp_path, frames, name):
    path = tmp_path / name
    ref = _write_checkpoint(path, img_size=42, seed=123, official=name.endswith(".pth"))
    p = small_prior(weights=path)
    assert p.trained and "untrained" not in p.label and name in p.label
    f = p.features(frames).astype(np.float32)
    with torch.inference_mode():
        from vist.prior.frames import imagenet_input

        tokens = ref.forward_features(imagenet_input(frames, 42))[:, 1:].numpy()
    np.testing.assert_allclose(f, tokens, atol=2e-2, rtol=1e-2)
    untrained = small_prior().features(frames).astype(np.float32)
    assert np.abs(f - untrained).mean() > 0.1


def test_weights_resampled_to_other_resolution(tmp_path, frames):
    path = tmp_path / "model.safetensors"
    _write_checkpoint(path, img_size=56, seed=5)  # 4×4 grid in the file, 3×3 wanted
    f = small_prior(weights=path, cache=False).features(frames)
    assert f.shape == (12, 9, 384) and np.isfinite(f).all()


def test_other_backbone_refused_with_clear_message(tmp_path):
    path = tmp_path / "model.safetensors"
    _write_checkpoint(path, img_size=42, seed=0)
    with pytest.raises(ValueError) as err:
        ViTPrior("vit_base_patch14_dinov2", weights=path, img_size=42, device="cpu")
    msg = str(err.value)
    assert "vit_base_patch14_dinov2" in msg and str(path) in msg and "D=384" in msg
    assert "backbone='vit_small_patch14_dinov2'" in msg


def test_missing_weights_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="vit_small_patch14_dinov2.*weights=None"):
        small_prior(weights=tmp_path / "nope.pth")


def test_cache_hit_does_not_recompute(frames, monkeypatch):
    p = small_prior()
    first = np.array(p.features(frames))
    monkeypatch.setattr(ViTPrior, "_forward", lambda *a, **k: pytest.fail("recomputed on a cache hit"))
    again = p.features(frames)
    assert isinstance(again, np.memmap)
    np.testing.assert_array_equal(first, again)


def test_cache_corruption_detected_and_recomputed(frames):
    p = small_prior()
    first = np.array(p.features(frames))
    arr_path, _ = entry_paths("dinov2", p.cache_key(frames))
    raw = bytearray(arr_path.read_bytes())
    raw[-100:] = bytes(100)  # zero the last 50 features
    arr_path.write_bytes(bytes(raw))
    with pytest.warns(UserWarning, match="digest"):
        again = p.features(frames)
    np.testing.assert_array_equal(first, again)
    arr_path.write_bytes(bytes(raw[:-1000]))  # truncated
    with pytest.warns(UserWarning, match="unusable"):
        np.testing.assert_array_equal(first, p.features(frames))


def test_cache_stale_sidecar_recomputed(frames):
    p = small_prior()
    first = np.array(p.features(frames))
    _, meta_path = entry_paths("dinov2", p.cache_key(frames))
    meta = json.loads(meta_path.read_text())
    meta["key"]["block"] = 3
    meta_path.write_text(json.dumps(meta))
    with pytest.warns(UserWarning, match="stale"):
        np.testing.assert_array_equal(first, p.features(frames))


def test_cache_invalidated_by_movie_layer_weights(frames, tmp_path):
    base = small_prior()
    keys = {json.dumps(base.cache_key(frames), sort_keys=True)}
    other_movie = frames.copy()
    other_movie[0, 0, 0] ^= 1
    keys.add(json.dumps(base.cache_key(other_movie), sort_keys=True))
    keys.add(json.dumps(small_prior(layer=-2).cache_key(frames), sort_keys=True))
    keys.add(json.dumps(small_prior(seed=1).cache_key(frames), sort_keys=True))
    path = tmp_path / "model.safetensors"
    _write_checkpoint(path, img_size=42, seed=1)
    keys.add(json.dumps(small_prior(weights=path).cache_key(frames), sort_keys=True))
    keys.add(json.dumps(small_prior(img_size=56).cache_key(frames), sort_keys=True))
    assert len(keys) == 6
    a = base.features(frames)
    b = small_prior(layer=-2).features(frames)
    assert not np.array_equal(a, b)
    assert len(list(entry_paths("dinov2", {})[0].parent.glob("*.npy"))) == 2


@pytest.mark.parametrize("bad, match", [
    (np.zeros((4, 32, 32), np.float32), "uint8"),
    (np.zeros((4, 32, 32, 3), np.uint8), "rank 3"),
    (np.zeros((32, 32), np.uint8), "rank 3"),
    (np.zeros((0, 32, 32), np.uint8), "non-empty"),
])
def test_bad_frames(bad, match):
    with pytest.raises(ValueError, match=match):
        PixelPrior(img_size=28, cache=False).features(bad)


def test_bad_settings():
    with pytest.raises(ValueError, match="multiple of 14"):
        ViTPrior(SMALL, img_size=50, device="cpu")
    with pytest.raises(ValueError, match="12 blocks"):
        ViTPrior(SMALL, layer=-13, img_size=28, device="cpu")
    with pytest.raises(ValueError, match="backbone"):
        ViTPrior("vit_small_patch16_224", device="cpu")


def test_pixel_prior_is_the_patch_grid(frames):
    from vist.prior.frames import gray_input

    p = PixelPrior(img_size=42, patch=14)
    f = p.features(frames).astype(np.float32)
    assert f.shape == (12, 9, 196) and "no ViT" in p.label and not p.trained
    img = gray_input(frames, 42).numpy()
    # patch (row 1, column 2) is the image block rows 14..28, columns 28..42
    np.testing.assert_allclose(f[:, 1 * 3 + 2], img[:, 14:28, 28:42].reshape(12, -1), atol=1e-2)


def test_i3d_prior_chunked_equals_one_pass_and_is_causal(frames):
    one = I3DPrior(img_size=64, chunk=12, cache=False, device="cpu").features(frames)
    chunked = I3DPrior(img_size=64, chunk=5, cache=False, device="cpu").features(frames)
    np.testing.assert_allclose(one.astype(np.float32), chunked.astype(np.float32), atol=2e-3, rtol=2e-3)
    later = frames.copy()
    later[8:] = 255 - later[8:]
    changed = I3DPrior(img_size=64, chunk=12, cache=False, device="cpu").features(later)
    np.testing.assert_array_equal(one[:8], changed[:8])
    assert not np.array_equal(one[8:], changed[8:])
    assert "untrained" in I3DPrior(img_size=64, cache=False, device="cpu").label


@pytest.mark.skipif(not bf16_supported(torch.device("cpu")), reason="no native bf16 on this CPU")
def test_bf16_close_to_fp32(frames):
    a = small_prior(precision="fp32", cache=False).features(frames).astype(np.float32)
    b = small_prior(precision="bf16", cache=False).features(frames).astype(np.float32)
    assert np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.99


def test_make_prior_follows_presets():
    from vist.presets import get_preset

    assert get_preset("auto", "cpu").name == "small"
    assert get_preset("paper").prior.backbone == "vit_large_patch14_dinov2"
    with pytest.raises(ValueError, match="preset"):
        get_preset("huge")
    p = make_prior("dinov2", preset="small", device="cpu", layer=-2, cache=False)
    assert p.backbone == SMALL and p.grid == get_preset("small").prior.img_size // 14 and p.layer == -2
    assert make_prior("pixels", preset="small").grid == p.grid
    with pytest.raises(ValueError, match="kind"):
        make_prior("clip")


def test_movie_digest_is_content_based(frames):
    assert digest(frames) == digest(frames.copy())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        small_prior().features(frames)


def test_linear_cka_and_pca_colors():
    from vist.prior.analysis import layer_similarity, linear_cka, pca_colors

    rng = np.random.default_rng(0)
    a = rng.normal(size=(200, 6))
    q, _ = np.linalg.qr(rng.normal(size=(6, 6)))
    assert linear_cka(a, 3.0 * a @ q) == pytest.approx(1.0)
    assert linear_cka(a, rng.normal(size=(200, 6))) < 0.2
    layers, sim = layer_similarity({-1: a.reshape(20, 10, 6), -2: (a @ q).reshape(20, 10, 6)})
    assert layers == [-1, -2] and sim[0, 1] == pytest.approx(1.0)
    colors = pca_colors(rng.normal(size=(5, 9, 6)).astype(np.float16), grid=3)
    assert colors.shape == (5, 3, 3, 3) and colors.min() >= 0 and colors.max() <= 1
    with pytest.raises(ValueError, match="9 patches"):
        pca_colors(rng.normal(size=(5, 8, 6)), grid=3)
