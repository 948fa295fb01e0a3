"""Build the model a :class:`~vist.train.spec.RunSpec` names, sized for its inputs and preset."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import torch
from torch import nn

from vist.model import CRNN, MSTCN, CRNNConfig, MSTCNConfig, ViST, ViSTConfig
from vist.presets import get_preset
from vist.train.spec import RunSpec


def _config(cls: type, options: dict[str, Any], model: str) -> Any:
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(options) - names)
    if unknown:
        raise ValueError(f"model_options: {model} has no options {unknown}; expected some of {sorted(names)}")
    return cls(**options)


def model_config(spec: RunSpec, inputs: tuple[int, ...],
                 cells: int) -> ViSTConfig | MSTCNConfig | CRNNConfig:
    """The configuration of the model of ``spec`` for per-frame inputs of shape ``inputs``
    (``[T, P, D]`` features or ``[T, S, S]`` frames) and ``cells`` cells.

    The sizes of ``spec.model`` in ``spec.preset`` (:class:`vist.presets.ModelSettings`) apply
    first, then ``spec.model_options``.
    """
    options = {**get_preset(spec.preset).model(spec.model).sizes.changes(), **spec.model_options}
    if spec.model == "vist":
        grid = int(round(inputs[1] ** 0.5))
        if grid * grid != inputs[1]:
            raise ValueError(f"Vi-ST needs a square patch grid, found {inputs[1]} patches")
        return _config(ViSTConfig, {"feat_dim": int(inputs[2]), "cells": cells, "grid": grid, **options},
                       "vist")
    if spec.model == "mstcn":
        return _config(MSTCNConfig, {"feat_dim": int(inputs[2]), "patches": int(inputs[1]), "cells": cells,
                                     **options}, "mstcn")
    return _config(CRNNConfig, {"cells": cells, "img_size": int(inputs[-1]), **options}, "crnn")


def build_model(spec: RunSpec, inputs: torch.Tensor, cells: int) -> nn.Module:
    """The model of ``spec`` for per-frame ``inputs`` (configured by :func:`model_config`)."""
    classes = {"vist": ViST, "mstcn": MSTCN, "crnn": CRNN}
    return classes[spec.model](model_config(spec, tuple(inputs.shape), cells))


def build_model_from_record(record: dict[str, Any], state: dict[str, torch.Tensor]) -> nn.Module:
    """Rebuild a stored run's final model from its ``run.json`` record and weights."""
    classes = {"ViST": (ViST, ViSTConfig), "MSTCN": (MSTCN, MSTCNConfig), "CRNN": (CRNN, CRNNConfig)}
    model_cls, cfg_cls = classes[record["model_class"]]
    cfg = dict(record["model_config"])
    if "cmst_kernels" in cfg:
        cfg["cmst_kernels"] = tuple(tuple(k) for k in cfg["cmst_kernels"])
    model = model_cls(cfg_cls(**cfg))
    model.load_state_dict(state)
    return model.eval()
