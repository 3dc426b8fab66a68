"""Command-line entry points: ``hiercls-train`` and ``hiercls-predict`` (Hydra)."""
