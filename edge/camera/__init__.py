"""The `camera` service: Kinect frames onto the bus, on the host's clock, with calibration."""
