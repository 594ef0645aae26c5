"""Domain errors, mapped to HTTP once in app.main.

NewsroomError
├── IndexNotReady      503  no index loaded yet
│   ├── ModelUnavailable 503  a model is shut down or gave no answer in time
│   └── DatabaseUnavailable 503  the archive's database cannot be reached (Retry-After)
├── DocumentNotFound   404  unknown article (or a path trick)
│   └── Withdrawn      410  an article the newsroom withdrew (its tombstone says when)
├── BadDocument        422  an article that cannot be read or indexed
│   └── NoArticle      422  an HTML page with no article text to extract (navigation only)
├── BadQuestion        422  a question over the service's limits (length, top_k)
├── BadFilter          422  a date range that ends before it starts
├── IndexMismatch           index built by another model or chunking; refuses to load
│   └── SchemaTooNew          the database's schema is newer than this code knows
├── BadName            400  an article name that is not [A-Za-z0-9._-]+ .txt/.md
├── Unauthorized       401  a write without the right bearer token
├── WritesDisabled     403  a write while no API_TOKEN is configured
├── DeskRefused        403  a desk form without its session or CSRF token (expired, forged)
├── TooManyAttempts    429  too many desk sign-ins from one client
├── DocumentExists     409  that name, or that very text under another name, is in already
├── TooLarge           413  an article over the upload limit
├── NotText            415  an upload that is not UTF-8 text
├── BadFeed            422  a feed that cannot be fetched or read (timeout, size, type, syntax)
├── BadFeedback        422  a verdict, comment or citation the service cannot take
├── FeedbackUnavailable 503 the feedback store cannot be written (a read-only index folder)
└── PortInUse               `serve` cannot listen where it was told to
"""


class NewsroomError(Exception):
    status_code = 500
    # Extra response headers, e.g. WWW-Authenticate on a 401.
    headers: dict[str, str] | None = None


class IndexNotReady(NewsroomError):
    status_code = 503


class ModelUnavailable(IndexNotReady):
    """Like an unloaded index, the archive cannot answer now: callers that tell users "not
    available, try again" (the chat integrations) say so for this too."""


class DatabaseUnavailable(IndexNotReady):
    """The database did not answer in time or refused the connection; the next request
    tries again, so the service recovers by itself when the database is back."""

    headers = {"Retry-After": "5"}


class DocumentNotFound(NewsroomError):
    status_code = 404


class Withdrawn(DocumentNotFound):
    status_code = 410


class BadDocument(NewsroomError):
    status_code = 422


class NoArticle(BadDocument):
    pass


class BadFeed(NewsroomError):
    status_code = 422


class BadFeedback(NewsroomError):
    status_code = 422


class FeedbackUnavailable(NewsroomError):
    status_code = 503


class BadQuestion(NewsroomError):
    status_code = 422


class BadFilter(NewsroomError):
    status_code = 422


class IndexMismatch(NewsroomError):
    status_code = 503


class SchemaTooNew(IndexMismatch):
    pass


class BadName(NewsroomError):
    status_code = 400


class Unauthorized(NewsroomError):
    status_code = 401
    headers = {"WWW-Authenticate": "Bearer"}


class WritesDisabled(NewsroomError):
    status_code = 403


class DeskRefused(NewsroomError):
    status_code = 403


class TooManyAttempts(NewsroomError):
    status_code = 429


class DocumentExists(NewsroomError):
    status_code = 409


class TooLarge(NewsroomError):
    status_code = 413


class NotText(NewsroomError):
    status_code = 415


class PortInUse(NewsroomError):
    pass
