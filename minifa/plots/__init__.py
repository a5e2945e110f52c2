"""Figures drawn from experiment results files only (matplotlib, Agg). One module per
experiment module, of the same name, with ``plot(results, png_path)``."""
