"""Shared test set-up: every test session gets its own empty cache folder, and trains lists of
runs one after another unless a test asks for workers."""

import pytest


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("VIST_CACHE_DIR", str(tmp_path_factory.mktemp("vist-cache")))
    mp.delenv("VIST_TRAIN_WORKERS", raising=False)
    yield
    mp.undo()
