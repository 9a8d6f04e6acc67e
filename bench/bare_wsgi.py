"""The floor for bench/webhook.py: a WSGI app that reads the body and answers 202, under the same
gunicorn, on the same CPU, with the same sender. What the server and the sender cost on their own;
the bot's acknowledgement is this plus verifying, parsing, recording and logging."""

ANSWER = b'{"status":"queued"}\n'


def app(environ, start_response):  # type: ignore[no-untyped-def]
    environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    start_response("202 Accepted", [("Content-Type", "application/json"), ("Content-Length", str(len(ANSWER)))])
    return [ANSWER]
