"""Utilities around the core library, as in ``torch.utils``: ``data`` (Dataset and DataLoader)."""

from . import data  # noqa: F401
