"""The ``keyhook`` client commands: a terminal over a Keyhook server's HTTP API.

Everything here talks HTTP to a server (or, like ``signature``, works offline)
and imports nothing of the server (an import-linter contract says so): what the
server serves comes from ``operations.json``, generated from the operation
registry by ``keyhook operations-spec``. It may touch the network, the user's
config directory and the OS keyring.
"""
