"""The web console (``/ui/console``): an entry point beside the API (docs/console.md)."""
