"""A sidecar of the desktop runtime in Python (FastAPI + uvicorn), written without sidecar-kit.

It follows the contract in the README's "Contract with sidecars", required part and upgrades:
- binds SIDECAR_HOST, on SIDECAR_PORT or on port 0 announced as `SIDECAR_PORT=<n>` on stdout;
- exits at once on EOF of stdin (the runtime is gone), and gracefully on SIGTERM;
- with `"stdio": "jsonrpc"`, serves the executor (executor.py) on stdin/stdout;
- serves /health/live, /health/ready and /runtime/info with this launch's instance id and the
  identity proof (`identity()` below: the whole proof is ten lines);
- refuses every other request without the API key, or with a Host that is not loopback.

Packaged with PyInstaller `--onefile` by `cargo xtask python`; run as `python sidecar.py` too.
"""

import hashlib
import hmac
import os
import socket
import sys
import threading

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

import executor

VERSION = "0.1.0"
try:  # the build hash the packaging stamped (`cargo xtask python`); none when run from source
    from build_info import BUILD
except ImportError:
    BUILD = ""
NAME = os.environ.get("SIDECAR_NAME", "python-reference")
INSTANCE_NAME = os.environ.get("SIDECAR_INSTANCE_NAME", NAME)
INSTANCE_ID = os.environ.get("SIDECAR_INSTANCE_ID", "")
API_KEY = os.environ.get("SIDECAR_API_KEY", "")
HOST = os.environ.get("SIDECAR_HOST", "127.0.0.1")
PUBLIC = {"/health/live", "/health/ready", "/runtime/info"}
LOOPBACK = {"127.0.0.1", "localhost", "[::1]"}


def identity(nonce):
    """What /runtime/info answers: with a nonce, the proof that this process holds the key."""
    info = {"name": NAME, "instance_name": INSTANCE_NAME, "version": VERSION, "build": BUILD,
            "pid": os.getpid(), "instance_id": INSTANCE_ID}
    if nonce and API_KEY and len(nonce) <= 128 and nonce.isascii() and nonce.isalnum():
        mac = hmac.new(API_KEY.encode(), b"sidecar-identity:" + nonce.encode(), hashlib.sha256)
        info["proof"] = mac.hexdigest()
    return info


app = FastAPI(title=NAME, version=VERSION)
ready = threading.Event()


@app.middleware("http")
async def guard(request: Request, call_next):
    """Host must be loopback (stops DNS rebinding); the key is needed beyond the public paths."""
    host = request.headers.get("host", "")
    name = host.rsplit(":", 1)[0] if not host.startswith("[") else host.split("]")[0] + "]"
    if name not in LOOPBACK:
        return JSONResponse({"error": f"foreign Host {host!r}: only loopback names are served"}, 403)
    if request.url.path not in PUBLIC:
        sent = request.headers.get("x-api-key") or request.headers.get("authorization", "").removeprefix("Bearer ")
        if not API_KEY or not hmac.compare_digest(sent.encode(), API_KEY.encode()):
            return JSONResponse({"error": "send the launch's API key in the x-api-key header"}, 401)
    return await call_next(request)


@app.get("/health/live")
def live():
    return {"live": True}


@app.get("/health/ready")
def health_ready():
    if ready.is_set():
        return {"ready": True}
    return JSONResponse({"ready": False, "reason": "starting"}, 503)


@app.get("/runtime/info")
def runtime_info(nonce: str | None = None):
    return identity(nonce)


@app.get("/api/hello")
def hello():
    return {"hello": NAME, "pid": os.getpid()}


def watch_stdin():
    """EOF on stdin: the runtime is gone (even if it was killed), so this process goes too.
    With SIDECAR_STDIO=jsonrpc, stdin carries the executor's JSON-RPC requests until then."""
    try:
        if os.environ.get("SIDECAR_STDIO") == "jsonrpc":
            executor.serve_stdio()
        else:
            while sys.stdin.buffer.readline():
                pass
    finally:
        print("stdin closed: the runtime is gone; exiting", file=sys.stderr, flush=True)
        os._exit(0)


def listen():
    """The listening socket: SIDECAR_PORT when given, else port 0, announced on stdout."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, int(os.environ.get("SIDECAR_PORT") or 0)))
    sock.listen(128)
    if not os.environ.get("SIDECAR_PORT"):
        print(f"SIDECAR_PORT={sock.getsockname()[1]}", flush=True)
    return sock


def main():
    sock = listen()  # the announcement goes out before any JSON-RPC message shares stdout
    threading.Thread(target=watch_stdin, name="lifeline", daemon=True).start()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
    ready.set()
    server.run(sockets=[sock])
    print("stopped", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
