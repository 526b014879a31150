"""The actions engine: which targets an execution point calls, how a call is
made (signed, bounded, policed) and what its answer means. May import
``domain``, ``storage`` and the bottom layer; the API and the services drive it."""
