"""The write side: commands validate input, load state from events, check the
rules of ``domain``, append events and update read tables in one transaction.
May import ``domain``, ``eventstore``, ``storage`` and the bottom layer."""
