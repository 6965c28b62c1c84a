"""The shared kernel: base models, the tracked-task runner, API envelopes and storage helpers."""
