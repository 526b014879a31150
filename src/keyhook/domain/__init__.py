"""The pure core of Keyhook: events, aggregates and their rules.

Contract: nothing in this package does I/O. It reads no clock, opens no file,
socket or database, and awaits nothing; time, ids and configuration come in as
arguments. Everything here can be tested with plain values and reused by the
write side, the read side and the actions engine alike. ``import-linter``
enforces that it imports no storage, HTTP or asyncio module.
"""
