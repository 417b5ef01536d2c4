"""An Eventium receiver in Flask, two ways.

    pip install titan-webhooks flask
    EVENTIUM_WEBHOOK_SECRET=... python examples/flask_receiver.py

`/eventium/webhooks` uses a `Verifier`: it accepts the previous secret too
while a secret is rotated (EVENTIUM_WEBHOOK_PREVIOUS_SECRET), parses the
body only once it is authentic, and answers a refusal with the core's
reason code. `/eventium/webhooks/simple` is the seed's Flask snippet, as
it stands in Eventium's docs.

It listens on 127.0.0.1:8000 (PORT changes the port).
"""

import os

from flask import Flask, abort, jsonify, request
from flask.typing import ResponseReturnValue

from titan_webhooks import Verifier, WebhookVerificationError, verify_signature

app = Flask(__name__)
SECRET = os.environ.get("EVENTIUM_WEBHOOK_SECRET", "YOUR_ENDPOINT_SECRET")
PREVIOUS = os.environ.get("EVENTIUM_WEBHOOK_PREVIOUS_SECRET")

# Built once: it holds the secrets' key schedules, and is thread-safe.
verifier = Verifier("eventium", [SECRET, PREVIOUS] if PREVIOUS else SECRET)


@app.post("/eventium/webhooks")
def eventium_webhook() -> ResponseReturnValue:
    try:
        delivery = verifier.verify_json(request.headers, request.get_data())
    except WebhookVerificationError as err:
        # err.code: missing_header, malformed_header, signature_mismatch,
        # timestamp_out_of_tolerance, invalid_payload, ...
        return jsonify(ok=False, error=err.code), 400
    event = delivery.payload
    # Deliveries are at least once: use event["id"] as the idempotency key.
    return jsonify(ok=True, type=event.get("type"), signed_at=delivery.timestamp)


@app.post("/eventium/webhooks/simple")
def eventium_webhook_simple() -> ResponseReturnValue:
    secret = SECRET
    sig = request.headers.get("X-TitanVX-Signature")
    raw_body = request.get_data()
    if not verify_signature(secret, sig, raw_body):
        abort(400)
    return jsonify(ok=True)


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(os.environ.get("PORT", "8000")))
