"""Shared test set-up: every test session gets its own empty cache folder, and Triton kernels
run in Triton's interpreter (on CPU tensors).

``TRITON_INTERPRET`` is read when a ``@triton.jit`` kernel is defined, i.e. when
:mod:`vist.kernels.triton_sdtw` or :mod:`vist.kernels.conv_triton` is first imported; setting it
here, before any test module is collected, makes every kernel an interpreted one. The tests
only ever pass CPU tensors to the Triton paths.
"""

import os

import pytest

os.environ["TRITON_INTERPRET"] = "1"


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("VIST_CACHE_DIR", str(tmp_path_factory.mktemp("vist-cache")))
    yield
    mp.undo()
