"""A Keyhook receiver in FastAPI, written only with keyhook-receiver: the guide's
email-domain check (a request execution on AddHumanUser, target restWebhook with
interruptOnError) and its Enrich Token Claims (a function execution, target restCall).

    KEYHOOK_SIGNING_KEY=whsec_… uvicorn examples.receivers.fastapi_receiver:app --port 3000

POST /validate-email and POST /enrich-claims. Several keys (during a rotation's
overlap): comma-separated.
"""

from __future__ import annotations

import os

from fastapi import Depends, FastAPI

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
from keyhook_receiver.adapters.starlette import KeyhookCall, response, route

verifier = Verifier(os.environ["KEYHOOK_SIGNING_KEY"].split(","))
app = FastAPI()
BLOCKED_DOMAINS = {"gmail.com", "yahoo.com"}


@app.post("/validate-email")
async def validate_email(call: Call = Depends(KeyhookCall(verifier))) -> object:  # noqa: B008
    if not isinstance(call, RequestCall):
        return response(allow())
    email = call.request.get("user", {}).get("email", {}).get("email", "")
    domain = email.rsplit("@", 1)[-1].lower()
    if domain in BLOCKED_DOMAINS:
        return response(reject(400, f"Email domain {domain} is not allowed"))
    return response(allow())


async def enrich(call: Call) -> Answer:
    if not isinstance(call, FunctionCall):
        return allow()
    department = call.user_metadata.get("department", "unknown")
    return Claims().add("department", department).add("roles", ["user"]).answer()


app.add_api_route("/enrich-claims", route(verifier)(enrich), methods=["POST"])
