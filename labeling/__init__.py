"""Crowdsourced annotation and collection tasks, commits and pictures."""
