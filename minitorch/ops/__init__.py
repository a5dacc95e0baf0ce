"""Tensor ops, one family per module; importing a module attaches its Tensor methods."""
