"""`edge-emotion-serve`: the photo pipeline behind an HTTP API and a live-camera page.

Needs the `serve` extra (Starlette, uvicorn, python-multipart); nothing here is imported by the
plain runtime, so `pip install edge-emotion-runtime` stays numpy + Pillow + one interpreter.
Modules: `pool` (a bounded pool of PhotoClassifiers, no web imports), `app` (the Starlette
application), `cli` (flags, model loading, uvicorn), `static/index.html` (the page).
"""
