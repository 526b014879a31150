"""A Keyhook receiver in Flask, written only with keyhook-receiver: the guide's
email-domain check and its Enrich Token Claims (see fastapi_receiver.py).

    KEYHOOK_SIGNING_KEY=whsec_… python examples/receivers/flask_receiver.py --port 3000
"""

from __future__ import annotations

import argparse
import os

from flask import Flask

from keyhook_receiver import (
    Answer,
    Call,
    Claims,
    FunctionCall,
    RequestCall,
    Verifier,
    allow,
    reject,
)
from keyhook_receiver.adapters.flask import route

verifier = Verifier(os.environ["KEYHOOK_SIGNING_KEY"].split(","))
app = Flask(__name__)
BLOCKED_DOMAINS = {"gmail.com", "yahoo.com"}


@app.post("/validate-email")
@route(verifier)
def validate_email(call: Call) -> Answer:
    if not isinstance(call, RequestCall):
        return allow()
    email = call.request.get("user", {}).get("email", {}).get("email", "")
    domain = email.rsplit("@", 1)[-1].lower()
    if domain in BLOCKED_DOMAINS:
        return reject(400, f"Email domain {domain} is not allowed")
    return allow()


@app.post("/enrich-claims")
@route(verifier)
def enrich_claims(call: Call) -> Answer:
    if not isinstance(call, FunctionCall):
        return allow()
    department = call.user_metadata.get("department", "unknown")
    return Claims().add("department", department).add("roles", ["user"]).answer()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=3000)
    app.run(host="127.0.0.1", port=parser.parse_args().port)
