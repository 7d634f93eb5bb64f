"""Config classes: the environment picks one; production refuses unsafe secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from bookapi.domain.jobs.records import MAINTENANCE_TASK
from bookapi.storage.broker import create_celery
from settings import (
    DEV_JWT_SECRET_KEY,
    PROJECT_DIR,
    Config,
    ConfigError,
    DevelopmentConfig,
    ProductionConfig,
    TestingConfig,
    load_settings,
    parse_setting,
    read_environment,
)

STRONG = "s" * 40


def test_bookapi_env_picks_the_class_and_unset_means_production() -> None:
    with pytest.raises(ConfigError, match="JWT_SECRET_KEY is not set"):
        load_settings({})
    strong = {"JWT_SECRET_KEY": STRONG + "j"}
    assert isinstance(load_settings(strong), ProductionConfig)
    assert isinstance(load_settings({"BOOKAPI_ENV": "development"}), DevelopmentConfig)
    assert isinstance(load_settings({"BOOKAPI_ENV": "testing"}), TestingConfig)
    with pytest.raises(ConfigError, match="BOOKAPI_ENV"):
        load_settings({"BOOKAPI_ENV": "staging"})


def test_values_come_from_the_environment() -> None:
    dev = {"BOOKAPI_ENV": "development"}
    config = load_settings({**dev, "MONGO_URI": "mongodb://db:27017/x", "MAX_JSON_BYTES": "10"})
    assert config.MONGO_URI == "mongodb://db:27017/x"
    assert config.MAX_JSON_BYTES == 10
    with pytest.raises(ConfigError, match="MAX_JSON_BYTES"):
        load_settings({**dev, "MAX_JSON_BYTES": "lots"})
    with pytest.raises(ConfigError, match="MONGO_DRIVER"):
        load_settings({**dev, "MONGO_DRIVER": "mongoengine"})


def test_dotenv_is_read_but_the_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("MONGO_DB=from_file\nREDIS_URL=redis://file:6379/0\n")
    monkeypatch.setenv("REDIS_URL", "redis://env:6379/0")
    values = read_environment(env_file)
    assert values["MONGO_DB"] == "from_file"
    assert values["REDIS_URL"] == "redis://env:6379/0"


def test_production_accepts_strong_secrets() -> None:
    config = ProductionConfig({"JWT_SECRET_KEY": STRONG + "j"})
    assert config.JWT_SECRET_KEY == STRONG + "j"


@pytest.mark.parametrize(
    ("environ", "variable"),
    [
        ({}, "JWT_SECRET_KEY"),
        ({"JWT_SECRET_KEY": DEV_JWT_SECRET_KEY}, "JWT_SECRET_KEY"),
        ({"JWT_SECRET_KEY": "short"}, "JWT_SECRET_KEY"),
        (
            {"JWT_SECRET_KEY": STRONG, "JWT_PREVIOUS_SECRET_KEYS": "short"},
            "JWT_PREVIOUS_SECRET_KEYS",
        ),
    ],
)
def test_production_refuses_missing_default_or_short_secrets(
    environ: dict[str, str], variable: str
) -> None:
    with pytest.raises(ConfigError, match=f"^{variable} "):
        load_settings({"BOOKAPI_ENV": "production", **environ})


def test_every_declared_setting_is_read_from_the_environment_by_its_type() -> None:
    dev = {"BOOKAPI_ENV": "development"}
    config = load_settings(
        {**dev, "RETRY_AFTER_SECONDS": "9", "REDIS_TIMEOUT_SECONDS": "0.5", "LOG_LEVEL": "DEBUG"}
    )
    assert (config.RETRY_AFTER_SECONDS, config.REDIS_TIMEOUT_SECONDS) == (9, 0.5)
    assert config.LOG_LEVEL == "DEBUG"
    assert "DEBUG" not in Config.declared(), "fixed by the class, not the environment"


@pytest.mark.parametrize(("raw", "value"), [("true", True), ("0", False), ("No", False)])
def test_a_bool_setting_reads_words_not_truthiness(raw: str, value: bool) -> None:
    assert parse_setting("FLAG", raw, bool) is value
    with pytest.raises(ConfigError, match="^FLAG must be true or false"):
        parse_setting("FLAG", "maybe", bool)


def test_maintenance_has_its_queue_and_beat_a_schedule_per_checkout() -> None:
    settings = TestingConfig({}, CELERY_QUEUE="q-jobs", CELERY_MAINTENANCE_QUEUE="q-upkeep")
    celery = create_celery(settings)
    assert celery.amqp.router.route({}, MAINTENANCE_TASK)["queue"].name == "q-upkeep"
    assert celery.conf.beat_schedule["maintain-jobs"]["options"]["queue"] == "q-upkeep"
    assert {queue.name for queue in celery.conf.task_queues} == {"q-jobs", "q-upkeep"}
    schedule = Path(celery.conf.beat_schedule_filename)
    assert schedule.parent == PROJECT_DIR / "var" and schedule.name == "celerybeat-q-jobs"


def test_sentinels_make_a_kombu_sentinel_broker_with_the_urls_database_and_password() -> None:
    settings = TestingConfig(
        {},
        REDIS_URL="redis://:s3cret@ignored:6379/3",
        REDIS_SENTINELS="10.0.0.1:26379, sentinel-b:26380",
        REDIS_SENTINEL_MASTER="books",
    )
    assert settings.sentinel_addresses == [("10.0.0.1", 26379), ("sentinel-b", 26380)]
    assert settings.broker_url == (
        "sentinel://:s3cret@10.0.0.1:26379/3;sentinel://:s3cret@sentinel-b:26380/3"
    )
    options = create_celery(settings).conf.broker_transport_options
    assert options["master_name"] == "books"
    # Without sentinels, REDIS_URL is the broker as before.
    assert TestingConfig({}, REDIS_URL="redis://r:6379/1").broker_url == "redis://r:6379/1"


@pytest.mark.parametrize("sentinels", ["nohost", "h:notaport", ":26379", "h:70000"])
def test_a_malformed_sentinel_list_is_refused_naming_the_variable(sentinels: str) -> None:
    with pytest.raises(ConfigError, match="REDIS_SENTINELS"):
        TestingConfig({}, REDIS_SENTINELS=sentinels)
