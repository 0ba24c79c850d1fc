"""The physician's report of a session: plots (`figures`) and the HTML and PDF (`physician`)."""
