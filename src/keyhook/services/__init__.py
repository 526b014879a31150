"""Long-running services of a Keyhook process (delivery worker, …). May import
the write side, the read side and the actions engine; never the API."""
