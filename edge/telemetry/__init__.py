"""The `telemetry` service: temperatures, load, memory and power of the cart, once a second."""
