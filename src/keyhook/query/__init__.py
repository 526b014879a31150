"""The read side: answers from read tables, shaped for the wire.
May import ``domain``, ``eventstore``, ``storage`` and the bottom layer."""
