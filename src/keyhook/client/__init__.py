"""The client command line: commands that talk to a Keyhook server over HTTP and import
nothing of the server."""
