from pathlib import Path

import pytest

from hub.settings import SettingsError, env_overrides, load_settings


def test_defaults_load_with_channels_off_and_sqlite():
    s = load_settings(environ={})
    assert s.database.url.startswith("sqlite+aiosqlite:///")
    assert not s.channels.messenger.enabled and not s.channels.zalo.enabled
    assert s.channels.web.enabled


def test_env_overrides_nested_keys_and_types():
    env = {"HUB__CHANNELS__MESSENGER__APP_SECRET": "s3cr3t-value",
           "HUB__SERVER__PORT": "9090", "HUB__CHANNELS__MESSENGER__ENABLED": "true",
           "HUB__ROUTING__HOLIDAYS": '["2026-09-02"]', "OTHER": "x"}
    assert env_overrides(env)["channels"]["messenger"]["app_secret"] == "s3cr3t-value"
    s = load_settings(environ=env)
    assert s.server.port == 9090
    assert s.channels.messenger.enabled is True
    assert s.channels.messenger.app_secret.get_secret_value() == "s3cr3t-value"
    assert s.routing.holidays == ["2026-09-02"]


def test_secrets_are_redacted_in_repr_and_dump():
    s = load_settings(environ={"HUB__CHANNELS__TELEGRAM__BOT_TOKEN": "123456:ABCdefSECRET"})
    assert "ABCdefSECRET" not in repr(s)
    assert "ABCdefSECRET" not in str(s.model_dump())


def test_config_file_and_hub_settings_env(tmp_path: Path):
    cfg = tmp_path / "prod.toml"
    cfg.write_text('[server]\nport = 8181\n[database]\nurl = "sqlite+aiosqlite:///db/x.db"\n')
    s = load_settings(environ={"HUB_SETTINGS": str(cfg)})
    assert s.server.port == 8181
    # relative SQLite paths resolve next to the settings file
    assert s.database_url == f"sqlite+aiosqlite:///{tmp_path / 'db/x.db'}"
    assert load_settings(cfg, environ={"HUB__SERVER__PORT": "1"}).server.port == 1


def test_bad_value_names_the_key_and_hides_the_value(tmp_path: Path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text('[server]\nport = "not-a-port"\n')
    with pytest.raises(SettingsError) as err:
        load_settings(cfg, environ={})
    assert "server.port" in str(err.value)
    with pytest.raises(SettingsError) as err:
        load_settings(environ={"HUB__CHANNELS__MESSENGER__NO_SUCH_KEY": "topsecret"})
    assert "channels.messenger.no_such_key" in str(err.value)
    assert "topsecret" not in str(err.value)


def test_unknown_agency_category_and_duplicate_ids_are_refused(tmp_path: Path):
    cfg = tmp_path / "a.toml"
    cfg.write_text('[[agencies]]\nid = "a"\nname = "A"\ncategories = ["potholes"]\n')
    with pytest.raises(SettingsError, match="agencies.0.categories"):
        load_settings(cfg, environ={})
    cfg.write_text('[[agencies]]\nid = "a"\nname = "A"\n[[agencies]]\nid = "a"\nname = "B"\n')
    with pytest.raises(SettingsError, match="duplicate agency ids"):
        load_settings(cfg, environ={})


def test_missing_settings_file_is_a_clear_error():
    with pytest.raises(SettingsError, match="settings file not found"):
        load_settings("/nonexistent/hub.toml", environ={})


def test_agency_areas_must_be_current_ward_names(tmp_path: Path):
    cfg = tmp_path / "a.toml"
    cfg.write_text('[[agencies]]\nid = "a"\nname = "A"\nareas = ["Phường Thuận Hóa", "phuong thuy xuan"]\n')
    assert load_settings(cfg, environ={}).agencies[0].areas  # current names, any spelling
    # Tây Lộc was merged away in July 2025: routing would never match it
    cfg.write_text('[[agencies]]\nid = "a"\nname = "A"\nareas = ["Phường Tây Lộc"]\n')
    with pytest.raises(SettingsError, match="agencies.0.areas"):
        load_settings(cfg, environ={})
