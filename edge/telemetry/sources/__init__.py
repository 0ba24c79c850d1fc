"""Telemetry sources, one file each: `jtop` (jetson-stats), `sysfs` (sysfs and procfs), `auto`."""
