"""Request logging for the runner's HTTP servers: paths only, never query strings.

A query string may carry an API key or a signature (a client that sends `?api_key=...`, a
provider's signed GET), and these lines end up in terminals and log files.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from werkzeug.serving import WSGIRequestHandler

# A request target's query: from "?" to the next blank or quote (werkzeug quotes bad request lines).
_QUERY = re.compile(r"\?[^\s\"']*")


def without_query(text: str) -> str:
    """`text` with every query string cut off: `GET /bills?api_key=k HTTP/1.1` -> `GET /bills HTTP/1.1`."""
    return _QUERY.sub("", text)


class PathOnlyRequestHandler(WSGIRequestHandler):
    """werkzeug's request handler, logging each request as `METHOD /path STATUS` at `request_level`
    on `request_logger`, and its own messages (bad request lines, errors) without query strings.

    It sends no `Server` header: API Gateway and the AWS endpoints emulated here name no server
    software, and `Werkzeug/x Python/y` would only tell a client what it is really talking to."""

    request_logger = logging.getLogger("paygate_local")
    request_level = logging.INFO

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # Neither is set when the request line was unreadable.
        command, path = getattr(self, "command", None) or "-", getattr(self, "path", None) or "-"
        self.request_logger.log(self.request_level, "%s %s %s", command, without_query(path), code)

    def send_response(self, code: int, message: str | None = None) -> None:
        self.log_request(code)
        self.send_response_only(code, message)
        self.send_header("Date", self.date_time_string())

    def log(self, type: str, message: str, *args: Any) -> None:
        super().log(type, message, *(without_query(arg) if isinstance(arg, str) else arg for arg in args))
