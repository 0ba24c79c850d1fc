"""Config files: the default runs anywhere; every mistake is reported with its line and a hint."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.config import AppConfig, load_config, parse_config, render_config
from edge.config.locate import key_lines, line_of
from edge.errors import ConfigError


def issues(text: str) -> list[tuple[int | None, str, str, str | None]]:
    with pytest.raises(ConfigError) as error:
        parse_config(text)
    return [(i.line, i.path, i.message, i.hint) for i in error.value.issues]


def test_the_embedded_default_validates_and_round_trips() -> None:
    config = AppConfig()
    assert config.supervisor.services[0] == "bus"
    assert config.telemetry.source.type == "auto"
    assert parse_config(render_config(config)) == config


def test_an_unknown_key_names_its_line_and_the_likely_key() -> None:
    found = issues('[log]\nlevel = "INFO"\n\n[supervisor]\nrestart_budjet = 3\n')
    assert found == [(5, "supervisor.restart_budjet", "unknown key",
                      "did you mean 'restart_budget'?")]


def test_a_wrong_type_names_its_line_and_what_the_file_has() -> None:
    [(line, path, message, hint)] = issues('[telemetry]\n\ninterval_s = "soon"\n')
    assert (line, path) == (3, "telemetry.interval_s")
    assert "valid number" in message
    assert hint == "the file has 'soon'"


def test_errors_inside_an_inline_backend_table() -> None:
    found = issues('[telemetry]\nsource = { type = "sysfs", rooot = "/" }\n')
    assert found == [(2, "telemetry.source.rooot", "unknown key", "did you mean 'root'?")]
    [(line, path, message, _)] = issues('[telemetry]\nsource = { type = "nope" }\n')
    assert (line, path) == (2, "telemetry.source")
    assert "'auto', 'jtop', 'sysfs'" in message


def test_every_problem_is_reported_in_line_order() -> None:
    found = issues('[bus]\ntcp_host = "0.0.0.0"\nhwm = 1\n[log]\nlevel = "LOUD"\n')
    assert [f[0] for f in found] == [2, 3, 5]
    assert "not a loopback address" in found[0][2]


def test_a_toml_syntax_error_has_its_line() -> None:
    [(line, path, message, _)] = issues('[bus]\ntransport = "ipc"\nhwm = = 3\n')
    assert line == 3
    assert path == ""
    assert message.startswith("not valid TOML")


@pytest.mark.parametrize("host", ["0.0.0.0", "10.0.0.1", "::", "192.168.1.2", "cart.local"])
def test_only_loopback_hosts_are_allowed(host: str) -> None:
    with pytest.raises(ConfigError, match="tcp_host"):
        parse_config(f'[bus]\ntcp_host = "{host}"\n')


def test_localhost_means_127_0_0_1() -> None:
    assert parse_config('[bus]\ntcp_host = "localhost"\n').bus.tcp_host == "127.0.0.1"


@pytest.mark.parametrize(
    ("services", "problem"),
    [('["bus", "toaster"]', "unknown service"), ('["telemetry", "bus"]', "must come first"),
     ('["bus", "bus"]', "listed twice")],
)
def test_service_lists_are_checked(services: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        parse_config(f"[supervisor]\nservices = {services}\n")


def test_unreadable_and_non_utf8_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.toml")
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"[bus]\nhwm = 100 \xff\xfe\n")
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(binary)


def test_no_file_means_the_embedded_default() -> None:
    assert load_config(None) == AppConfig()


def test_key_locator() -> None:
    text = (
        "top = 1\n"
        "[a.b]\n"
        "c = 2\n"
        '"quoted key" = 3\n'
        "d.e = 4\n"
        "t = { x = 1, y = { z = 2 } }\n"
        "[[items]]\n"
        "name = 'first'\n"
        "[[items]]\n"
        "name = 'second'  # a comment\n"
    )
    lines = key_lines(text)
    assert lines[("top",)] == 1
    assert lines[("a", "b")] == 2
    assert lines[("a", "b", "c")] == 3
    assert lines[("a", "b", "quoted key")] == 4
    assert lines[("a", "b", "d", "e")] == 5
    assert lines[("a", "b", "t", "x")] == 6
    assert lines[("items", 0, "name")] == 8
    assert lines[("items", 1, "name")] == 10
    assert line_of(lines, ("a", "b", "unknown", "deeper")) == 2
    assert line_of(lines, ("nowhere",)) is None
