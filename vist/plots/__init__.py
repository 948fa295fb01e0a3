"""Figures used by the chapters. Each function draws on a matplotlib figure and returns it, and
titles it with the data it shows, so captions never have to be typed by hand."""
