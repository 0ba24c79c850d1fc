"""Typed configuration: one TOML file, validated by pydantic, with errors that name the line."""

from edge.config.loader import default_config_path, load_config, parse_config, render_config
from edge.config.model import AppConfig

__all__ = ["AppConfig", "default_config_path", "load_config", "parse_config", "render_config"]
