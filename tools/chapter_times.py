"""Print the execution time of each chapter from a ``jupyter-book build`` log (myst-nb lines)."""

import re
import sys

text = open(sys.argv[1], encoding="utf-8", errors="replace").read()
executed = re.findall(r"(\S+?): Executed notebook in ([0-9.]+) seconds", text)
cached = re.findall(r"(\S+?): Using cached notebook", text)
for path, secs in executed:
    print(f"{path.rsplit('/', 1)[-1]:40s} {float(secs):8.1f}")
for path in cached:
    print(f"{path.rsplit('/', 1)[-1]:40s} (from the execution cache)")
if not executed and not cached:
    print("(no chapter execution found in the log)")
