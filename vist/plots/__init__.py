"""Every figure of the book, one module per subject: :mod:`~vist.plots.data` (chapter 1),
:mod:`~vist.plots.prior` (2), :mod:`~vist.plots.model` (3), :mod:`~vist.plots.training` (6),
:mod:`~vist.plots.experiments` (7–12), :mod:`~vist.plots.speed` (13), and the book's look,
:mod:`~vist.plots.style`. Each function draws on a matplotlib figure and returns it; what it shows
goes in the caption under it (:func:`vist.report.show`). A figure of stored results takes the
frame its reader (e.g. :mod:`vist.bench.summary`) loaded, never a file.

May import: vist.data, vist.prior, vist.train (never vist.report, which shows the figures).
"""
