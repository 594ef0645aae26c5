"""The archive for AI assistants (MCP): read-only tools to ask, search and read it, over
streamable HTTP at /mcp (http.py) and over stdio, `python -m app mcp` (tools.py)."""

from app.assistants.http import mount, serving
from app.assistants.tools import build_server, run_stdio

__all__ = ["build_server", "mount", "run_stdio", "serving"]
