"""Export of sessions to removable media as Motion-BIDS, hashed and verified (`job`)."""
