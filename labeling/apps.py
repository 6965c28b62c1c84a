"""App config for labeling."""

from django.apps import AppConfig


class LabelingConfig(AppConfig):
    name = "labeling"
