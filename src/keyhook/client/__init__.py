"""The ``keyhook`` client commands: HTTP (and WebSocket) only, nothing of the server."""
