"""Config fields that older minifa versions stored under another name, read as today's.

Checkpoints and sweep files store their ``Config`` as JSON; a file written before a rename
still loads (``Config.from_dict``) and reads (``minifa.history``) under the current names.
This module imports nothing, so the file readers can use it without the engine.
"""

from __future__ import annotations

# The name then -> the name now.
RENAMED = {"l2": "weight_decay"}  # weight decay λ, in the papers' words


def upgraded(data: dict) -> dict:
    """A stored config dict with each field under its current name."""
    return {RENAMED.get(key, key): value for key, value in data.items()}
