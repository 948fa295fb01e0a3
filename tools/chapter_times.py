"""Print the execution time of each chapter from a ``jupyter-book build`` log (myst-nb lines)."""

import re
import sys

text = open(sys.argv[1], encoding="utf-8", errors="replace").read()
current = None
rows = []
for line in text.splitlines():
    m = re.search(r"Executing notebook using .*?: (\S+)", line)
    if m:
        current = m.group(1).rsplit("/", 1)[-1]
    m = re.search(r"Executed notebook in ([0-9.]+) seconds", line)
    if m and current:
        rows.append((current, float(m.group(1))))
        current = None
for name, secs in rows:
    print(f"{name:40s} {secs:8.1f}")
if not rows:
    print("(no chapter was executed: all came from the execution cache)")
