"""Unit costs of road works and the uncertainty ranges of an appraisal, as data (TOML).

``default.toml``: cost per km by current -> target road standard and terrain (indicative values,
meant to be replaced by an agency's own unit costs); ``uncertainty.toml``: the ranges speeds,
thresholds and costs are perturbed within in the repeated runs of
:func:`territorial_gis.appraisal.appraise_projects`.
"""
