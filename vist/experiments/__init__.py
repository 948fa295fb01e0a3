"""The paper's experiments (SPEC §6) as run lists and tables; chapters call these.

Each experiment module builds the :class:`~vist.train.RunSpec` list of its runs and turns the
stored runs into a table with the poster's reference values beside ours, every column labelled
with its data source and prior weights.

May import: vist.data, vist.env, vist.losses, vist.metrics, vist.model, vist.presets, vist.prior,
vist.train.
"""
