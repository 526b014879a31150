"""The append-only event store: append events (with optimistic per-aggregate
sequences and unique constraints) and read them back. Works inside a caller's
transaction so read tables and outbox rows commit with the events. Imports
``storage`` and the bottom layer only."""
