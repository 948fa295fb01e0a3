"""Progress bars respect TQDM_DISABLE (as tools/book sets it) and a caller's show=False.

tqdm reads ``TQDM_*`` variables when it is imported, so each case runs in a fresh interpreter.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from vist.progress import progress

SCRIPT = """
import sys
from vist.progress import progress
bar = progress(range(5), show={show}, file=sys.stderr, desc="frames", mininterval=0)
print("disabled" if bar.disable else "enabled")
for _ in bar:
    pass
"""


@pytest.mark.parametrize(("env", "show", "hidden"), [(None, True, False), ("1", True, True),
                                                      (None, False, True), ("0", False, True)])
def test_bar_shown_only_when_asked_and_not_disabled_by_the_environment(env, show, hidden):
    environ = {k: v for k, v in os.environ.items() if not k.startswith("TQDM_")}
    if env is not None:
        environ["TQDM_DISABLE"] = env
    out = subprocess.run([sys.executable, "-c", SCRIPT.format(show=show)], env=environ, capture_output=True,
                         text=True, check=True)
    assert out.stdout.splitlines()[0] == ("disabled" if hidden else "enabled"), out.stdout
    assert ("frames" in out.stderr) is not hidden, out.stderr
    if hidden:
        assert out.stderr == ""


def test_disable_argument_is_refused():
    with pytest.raises(TypeError, match="show=False"):
        progress(range(2), disable=True)
