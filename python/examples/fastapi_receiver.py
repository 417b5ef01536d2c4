"""Eventium's FastAPI receiver from its docs, runnable.

The seed's handler, with `titan_webhooks.verify_signature` in place of
`titanvx_sdk.webhooks.verify_signature`:

    pip install titan-webhooks fastapi uvicorn
    EVENTIUM_WEBHOOK_SECRET=... python examples/fastapi_receiver.py

It listens on 127.0.0.1:8000 (PORT changes the port). A delivery with a
valid, fresh `X-TitanVX-Signature` gets 200; a tampered, stale (over 5
minutes either way) or unsigned one gets 400.
"""

import os

from fastapi import FastAPI, Header, HTTPException, Request

from titan_webhooks import verify_signature

app = FastAPI()
SECRET = os.environ.get("EVENTIUM_WEBHOOK_SECRET", "YOUR_ENDPOINT_SECRET")


@app.post("/eventium/webhooks")
async def eventium_webhook(request: Request, x_titanvx_signature: str = Header("")) -> dict[str, object]:
    body = await request.body()
    if not verify_signature(SECRET, x_titanvx_signature, body):
        raise HTTPException(status_code=400, detail="Invalid signature")
    payload = await request.json()
    return {"ok": True, "type": payload.get("type")}


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=int(os.environ.get("PORT", "8000")))
