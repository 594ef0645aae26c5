"""Domain errors, mapped to HTTP once in app.main.

    NewsroomError
    ├── IndexNotReady      503  no index loaded yet
    ├── DocumentNotFound   404  unknown article (or a path trick)
    ├── BadDocument        422  an article that cannot be read or indexed
    ├── BadQuestion        422  a question the service cannot take
    └── IndexMismatch           index built by another model or chunking; refuses to load
"""


class NewsroomError(Exception):
    status_code = 500


class IndexNotReady(NewsroomError):
    status_code = 503


class DocumentNotFound(NewsroomError):
    status_code = 404


class BadDocument(NewsroomError):
    status_code = 422


class BadQuestion(NewsroomError):
    status_code = 422


class IndexMismatch(NewsroomError):
    status_code = 503
