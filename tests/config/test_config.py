"""Config files: the default runs anywhere; every mistake is reported with its line and a hint."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from edge.config import AppConfig, default_config_path, load_config, parse_config, render_config
from edge.errors import ConfigError, ConfigIssue

Found = tuple[int | None, str, str, str | None]


def issues(text: str) -> list[Found]:
    with pytest.raises(ConfigError) as error:
        parse_config(text, "cart.toml")
    assert str(error.value).startswith(f"cart.toml: {len(error.value.issues)} problem(s)")
    return [(i.line, i.path, i.message, i.hint) for i in error.value.issues]


def only(text: str) -> Found:
    found = issues(text)
    assert len(found) == 1, found
    return found[0]


def test_the_embedded_default_validates_and_round_trips() -> None:
    config = AppConfig()
    assert AppConfig.model_validate(config.model_dump()) == config
    assert config.supervisor.services[0] == "bus"
    assert config.bus.transport == "ipc"
    assert config.telemetry.source.type == "auto"
    assert parse_config(render_config(config)) == config
    assert parse_config("") == config


def test_a_full_file_reads_back() -> None:
    config = parse_config(
        "# the cart in room 3\n"
        "[bus]\n"
        'transport = "tcp"  # loopback only\n'
        "tcp_base_port = 48000\n"
        "[supervisor]\n"
        'services = ["bus", "telemetry"]\n'
        "[telemetry]\n"
        'source = { type = "sysfs", root = "/srv/fake" }\n'
        "interval_s = 2\n"
    )
    assert config.bus.transport == "tcp"
    assert config.bus.tcp_base_port == 48000
    assert config.telemetry.source.type == "sysfs"
    assert str(config.telemetry.source.root) == "/srv/fake"  # type: ignore[attr-defined]
    assert config.telemetry.interval_s == 2.0


def test_an_unknown_key_names_its_line_and_the_likely_key() -> None:
    assert only('[log]\nlevel = "INFO"\n\n[supervisor]\nrestart_budjet = 3\n') == (
        5, "supervisor.restart_budjet", "unknown key", "did you mean 'restart_budget'?")


def test_an_unknown_section_names_the_likely_section() -> None:
    assert only("[buss]\nhwm = 100\n") == (1, "buss", "unknown key", "did you mean 'bus'?")


def test_an_unknown_key_far_from_any_lists_what_is_allowed() -> None:
    line, path, message, hint = only('colour = "red"\n')
    assert (line, path, message) == (1, "colour", "unknown key")
    assert hint == ("allowed here: bus, camera, display, export, imu, log, paths, pose, "
                    "runtime, session, sim, supervisor, telemetry, update")


def test_a_wrong_type_names_its_line_and_what_the_file_has() -> None:
    line, path, message, hint = only('[telemetry]\n\ninterval_s = "soon"\n')
    assert (line, path) == (3, "telemetry.interval_s")
    assert "valid number" in message
    assert hint == "the file has 'soon'"


@pytest.mark.parametrize(
    ("text", "line", "path"),
    [
        ('[bus]\n"hwm" = "many"\n', 2, "bus.hwm"),  # a quoted key
        ('bus.hwm = "many"\n', 1, "bus.hwm"),  # a dotted key at the top
        ('[bus]\n\n\n  hwm="many"   # comment\n', 4, "bus.hwm"),
        ('[ bus ]\ntransport = "udp"\n', 2, "bus.transport"),
        ('[log]\nlevel = "info"\n', 2, "log.level"),
        ("[runtime]\nstop_timeout_s = -1 # never\n", 2, "runtime.stop_timeout_s"),
        ("[supervisor]\nrestart_budget = 1.5\n", 2, "supervisor.restart_budget"),
        ('[supervisor]\nservices = ["bus", 3]\n', 2, "supervisor.services.1"),
        ("bus = 3\n", 1, "bus"),
        ("[paths]\ndata_dir = 3\n", 2, "paths.data_dir"),
    ],
)
def test_every_kind_of_bad_value_is_located(text: str, line: int, path: str) -> None:
    found_line, found_path, _, hint = only(text)
    assert (found_line, found_path) == (line, path)
    assert hint is not None and hint.startswith("the file has")


def test_errors_inside_an_inline_backend_table() -> None:
    assert only('[telemetry]\nsource = { type = "sysfs", rooot = "/" }\n') == (
        2, "telemetry.source.rooot", "unknown key", "did you mean 'root'?")
    line, path, message, _ = only('[telemetry]\nsource = { type = "nope" }\n')
    assert (line, path) == (2, "telemetry.source")
    assert "'auto', 'jtop', 'sysfs'" in message
    line, path, _, hint = only('[telemetry]\nsource = { type = "sysfs", root = 5 }\n')
    assert (line, path, hint) == (2, "telemetry.source.root", "the file has 5")
    line, path, message, _ = only("[telemetry]\nsource = { rooot = 1 }\n")
    assert (line, path) == (2, "telemetry.source")
    assert "'type'" in message


def test_errors_in_a_backend_written_as_a_table_or_dotted_keys() -> None:
    assert only('[telemetry.source]\ntype = "sysfs"\nrooot = "/"\n') == (
        3, "telemetry.source.rooot", "unknown key", "did you mean 'root'?")
    assert only('telemetry.source = { type = "sysfs", rooot = 1 }\n')[:2] == (
        1, "telemetry.source.rooot")
    assert only('[telemetry]\nsource.type = "nope"\n')[:2] == (2, "telemetry.source")


def test_every_problem_is_reported_in_line_order() -> None:
    found = issues(
        '[log]\nlevel = "LOUD"\n[bus]\ntcp_host = "0.0.0.0"\nhwm = 1\nhwn = 5\n'
    )
    assert [(f[0], f[1]) for f in found] == [
        (2, "log.level"), (4, "bus.tcp_host"), (5, "bus.hwm"), (6, "bus.hwn")]
    assert "not a loopback address" in found[1][2]
    assert found[3][3] == "did you mean 'hwm'?"


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ('[bus]\ntransport = "ipc"\nhwm = = 3\n', 3),
        ('[bus]\ntransport = "ipc\n', 2),
        ("[bus\nhwm = 3\n", 1),
        ("[bus]\nhwm = 100\n[bus]\nhwm = 200\n", 3),
        ("[bus]\nhwm = 100\nhwm = 200\n", 3),
    ],
)
def test_a_toml_syntax_error_has_its_line(text: str, line: int) -> None:
    found_line, path, message, hint = only(text)
    assert found_line == line
    assert path == ""
    assert message.startswith("not valid TOML")
    assert hint is not None


@pytest.mark.parametrize(
    "host", ["0.0.0.0", "10.0.0.1", "::", "192.168.1.2", "fe80::1", "cart.local", "", "*"]
)
def test_only_loopback_hosts_are_allowed(host: str) -> None:
    line, path, message, _ = only(f'[bus]\ntcp_host = "{host}"\n')
    assert (line, path) == (2, "bus.tcp_host")
    assert "loopback" in message or "not an IP address" in message


@pytest.mark.parametrize(("host", "kept"), [("localhost", "127.0.0.1"), ("127.0.0.1", "127.0.0.1"),
                                            ("127.3.2.1", "127.3.2.1")])
def test_loopback_hosts_are_accepted(host: str, kept: str) -> None:
    assert parse_config(f'[bus]\ntcp_host = "{host}"\n').bus.tcp_host == kept


@pytest.mark.parametrize(
    ("services", "problem"),
    [('["bus", "toaster"]', "unknown service"), ('["telemetry", "bus"]', "must come first"),
     ('["bus", "bus"]', "listed twice"), ('["Bus"]', "unknown service")],
)
def test_service_lists_are_checked(services: str, problem: str) -> None:
    line, path, message, _ = only(f"[supervisor]\n\nservices = {services}\n")
    assert (line, path) == (3, "supervisor.services")
    assert problem in message


def test_a_service_list_without_the_bus_is_allowed() -> None:
    assert parse_config('[supervisor]\nservices = ["telemetry"]\n').supervisor.services == [
        "telemetry"]


def test_unreadable_files(tmp_path: Path) -> None:
    for path in (tmp_path / "missing.toml", tmp_path):
        with pytest.raises(ConfigError, match="cannot read the file") as error:
            load_config(path)
        assert error.value.source == str(path)


def test_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"[bus]\nhwm = 100 \xff\xfe\n")
    with pytest.raises(ConfigError, match="cannot read the file") as error:
        load_config(binary)
    [issue] = error.value.issues
    assert "utf-8" in issue.message


def test_no_file_means_the_embedded_default() -> None:
    assert load_config(None) == AppConfig()


def test_a_file_on_disk_is_read(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[log]\nlevel = "DEBUG"\n', encoding="utf-8")
    assert load_config(path).log.level == "DEBUG"
    path.write_text('[log]\nlevel = "LOUD"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert error.value.source == str(path)
    assert error.value.issues[0].line == 2


def test_the_default_path_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GMA_EDGE_CONFIG", "/somewhere/c.toml")
    assert default_config_path() == Path("/somewhere/c.toml")
    monkeypatch.delenv("GMA_EDGE_CONFIG")
    expected = Path("/etc/gma-edge/config.toml")
    assert default_config_path() == (expected if expected.is_file() else None)


def test_the_data_dir_follows_systemd_then_xdg(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STATE_DIRECTORY", "/var/lib/gma-edge:/var/lib/other")
    assert AppConfig().paths.data_dir == Path("/var/lib/gma-edge")
    monkeypatch.delenv("STATE_DIRECTORY")
    monkeypatch.setenv("XDG_DATA_HOME", "/xdg")
    assert AppConfig().paths.data_dir == Path("/xdg/gma-edge")
    monkeypatch.delenv("XDG_DATA_HOME")
    assert AppConfig().paths.data_dir == Path.home() / ".local" / "share" / "gma-edge"


def test_a_config_is_immutable() -> None:
    config = AppConfig()
    with pytest.raises(ValueError, match="frozen"):
        config.bus.hwm = 5  # type: ignore[misc]


def test_issues_read_well() -> None:
    assert str(ConfigIssue("bus.hwm", "too small", 3, "use 10 or more")) == (
        "line 3: bus.hwm: too small (hint: use 10 or more)")
    assert str(ConfigIssue("", "cannot read the file")) == "cannot read the file"
    assert os.sep not in str(ConfigIssue("a", "b"))


def test_a_colour_pose_model_needs_colour_frames() -> None:
    model = ('[pose.model]\ntype = "color-topdown"\ninput_width = 192\ninput_height = 256\n'
             'runtime = { type = "onnxruntime", model = "vitpose.onnx" }\n')
    _, _, message, _ = only(model)
    assert 'needs colour frames: set [camera] color = "bgra" or "jpeg"' in message
    assert parse_config(model + '[camera]\ncolor = "jpeg"\n', "cart.toml").camera.color == "jpeg"
    assert AppConfig().camera.color == "none"  # the shipped model reads depth only
