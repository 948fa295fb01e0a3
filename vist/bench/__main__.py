"""``python -m vist.bench NAME``: run one benchmark, print its table, optionally save it."""

from __future__ import annotations

import argparse
import importlib
import sys

BENCHMARKS = {
    "data": "vist.bench.data",
    "kernels": "vist.bench.kernels",
    "prior": "vist.bench.prior",
    "train-run": "vist.bench.train_run",
    "train-step": "vist.bench.train_step",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vist.bench", description=__doc__)
    sub = parser.add_subparsers(dest="name", required=True, metavar="NAME",
                                help=f"one of: {', '.join(BENCHMARKS)}")
    modules = {}
    for name, module_name in BENCHMARKS.items():
        module = importlib.import_module(module_name)
        modules[name] = module
        p = sub.add_parser(name, help=(module.__doc__ or "").strip().splitlines()[0])
        module.add_arguments(p)
        p.add_argument("--save", default=None, help="also write the table as JSON to this path")
    args = vars(parser.parse_args(argv))
    name, save = args.pop("name"), args.pop("save")
    table = modules[name].run(**args)
    print(table.to_text())
    if save:
        table.save(save)
        print(f"saved to {save}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
