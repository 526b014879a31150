"""Framework adapters: each reads the raw body the way its framework must, verifies and
parses it, and runs the handler only for a genuine call (a bad signature is ``401``, a
body that is not a Keyhook call ``400``, a duplicate delivery ``200``). Each imports its
framework, so import only the one you use: ``keyhook_receiver.adapters.flask`` and so on.

A handler takes the parsed call and returns an
:class:`~keyhook_receiver.answers.Answer`, or None to allow."""
