"""Signed field updates from a USB stick: bundles, their keys, and applying them safely.

A bundle is built and signed on the signing computer (`gma-edge update build`), checked whole
on the cart against the keys pinned in the installed config, and applied as a transaction
that either keeps a release that came up or rolls back to the one before.
"""
