"""The executor: runs a config of states and actions, driven over the JSON-RPC stdio channel.

With SIDECAR_STDIO=jsonrpc the runtime writes one JSON-RPC 2.0 request per line on stdin and
reads responses and notifications, one per line, on stdout. Methods:
  validate {path}          -> {ok, name, states, actions, errors: [...]}
  start {path}             -> {run_id, states, actions}   (validates first; -32602 with the errors)
  pause / resume / stop    -> {run_id, status}
  status                   -> {run_id, status, done, total}
Notifications (each with `run_id` and `emitted_at`, epoch milliseconds, for latency figures):
  state_changed    {status: running|paused|stopped|completed|failed, state, done, total}
  action_started   {state, action, index, total}
  action_completed {state, action, index, total, ms}
  error            {message, action?}

A config file (JSON):
  {"name": "demo", "states": [{"id": "prepare", "actions": [{"id": "a1", "kind": "sleep", "ms": 5}]}]}
Action kinds: sleep {ms: 0..60000}, log {message}, fail {message} (the run fails there).
"""

import json
import os
import sys
import threading
import time
import uuid

MAX_ITEMS = 10_000
MAX_FILE = 16 << 20
KINDS = {"sleep", "log", "fail"}

_out = threading.Lock()


def send(msg):
    line = json.dumps(msg, separators=(",", ":"))
    with _out:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def notify(method, **params):
    params["emitted_at"] = time.time() * 1000.0
    send({"jsonrpc": "2.0", "method": method, "params": params})


class Invalid(Exception):
    def __init__(self, errors):
        super().__init__("; ".join(errors))
        self.errors = errors


def check_id(value, where, seen, errors):
    """An id: a non-empty string, used once."""
    if not isinstance(value, str) or not value:
        errors.append(f"{where}.id: a non-empty string is required")
    elif value in seen:
        errors.append(f"{where}.id: `{value}` is used twice")
    seen.add(value)


def load(path):
    """Reads and checks a config file; every problem is named with where it is."""
    if not isinstance(path, str) or not path:
        raise Invalid(["params.path: the config file's path is required"])
    try:
        size = os.path.getsize(path)
        if size > MAX_FILE:
            raise Invalid([f"{path}: {size} bytes; a config is at most {MAX_FILE} bytes"])
        with open(path, encoding="utf-8") as f:
            cfg = json.load(f)
    except OSError as e:
        raise Invalid([f"{path}: cannot read it: {e.strerror or e}"])
    except UnicodeDecodeError as e:
        raise Invalid([f"{path}: not UTF-8 text ({e.reason} at byte {e.start})"])
    except json.JSONDecodeError as e:
        raise Invalid([f"{path}:{e.lineno}:{e.colno}: not JSON: {e.msg}"])
    errors = []
    if not isinstance(cfg, dict):
        raise Invalid([f"{path}: the top level must be an object with \"states\""])
    states = cfg.get("states")
    if not isinstance(states, list) or not states:
        raise Invalid([f"{path}: states: a non-empty array of states is required"])
    seen_states, seen_actions, items = set(), set(), 0
    for i, st in enumerate(states):
        where = f"{path}: states[{i}]"
        if not isinstance(st, dict):
            errors.append(f"{where}: must be an object")
            continue
        check_id(st.get("id"), where, seen_states, errors)
        items += 1
        actions = st.get("actions", [])
        if not isinstance(actions, list):
            errors.append(f"{where}.actions: must be an array")
            continue
        for j, a in enumerate(actions):
            aw = f"{where}.actions[{j}]"
            items += 1
            if not isinstance(a, dict):
                errors.append(f"{aw}: must be an object")
                continue
            check_id(a.get("id"), aw, seen_actions, errors)
            kind = a.get("kind")
            if kind not in KINDS:
                errors.append(f"{aw}.kind: {kind!r} is not one of {', '.join(sorted(KINDS))}")
            if kind == "sleep":
                ms = a.get("ms")
                if not isinstance(ms, int) or isinstance(ms, bool) or not 0 <= ms <= 60_000:
                    errors.append(f"{aw}.ms: an integer 0..60000 is required")
        if len(errors) > 50:
            errors.append("(more errors not shown)")
            break
    if items > MAX_ITEMS:
        errors.append(f"{path}: {items} states and actions; at most {MAX_ITEMS}")
    if errors:
        raise Invalid(errors)
    return {"name": cfg.get("name") or os.path.basename(path), "states": states,
            "actions": sum(len(s.get("actions", [])) for s in states)}


class Run:
    def __init__(self, cfg):
        self.id = uuid.uuid4().hex[:12]
        self.cfg = cfg
        self.total = cfg["actions"]
        self.done = 0
        self.state = None
        self.status = "running"
        self.go = threading.Event()
        self.go.set()
        self.stopped = False
        self.thread = threading.Thread(target=self.run, name=f"run-{self.id}", daemon=True)

    def changed(self, status):
        self.status = status
        notify("state_changed", run_id=self.id, status=status, state=self.state, done=self.done, total=self.total)

    def run(self):
        self.changed("running")
        for st in self.cfg["states"]:
            self.state = st["id"]
            self.changed(self.status if self.status == "paused" else "running")
            for a in st.get("actions", []):
                self.go.wait()
                if self.stopped:
                    return
                index = self.done
                t0 = time.monotonic()
                notify("action_started", run_id=self.id, state=self.state, action=a["id"], index=index, total=self.total)
                kind = a["kind"]
                if kind == "sleep":
                    time.sleep(a["ms"] / 1000.0)
                elif kind == "log":
                    print(f"[{self.id}] {a.get('message', '')}", file=sys.stderr, flush=True)
                elif kind == "fail":
                    notify("error", run_id=self.id, action=a["id"], message=a.get("message") or "the action failed")
                    self.changed("failed")
                    return
                self.done += 1
                notify("action_completed", run_id=self.id, state=self.state, action=a["id"], index=index,
                       total=self.total, ms=round((time.monotonic() - t0) * 1000, 3))
        self.changed("completed")

    def pause(self):
        if self.status == "running":
            self.go.clear()
            self.changed("paused")

    def resume(self):
        if self.status == "paused":
            self.go.set()
            self.changed("running")

    def stop(self):
        if self.status in ("running", "paused"):
            self.stopped = True
            self.go.set()
            self.changed("stopped")


class Executor:
    def __init__(self):
        self.run = None
        self.lock = threading.Lock()

    def call(self, method, params):
        if method == "validate":
            try:
                cfg = load(params.get("path"))
            except Invalid as e:
                return {"ok": False, "errors": e.errors}
            return {"ok": True, "name": cfg["name"], "states": len(cfg["states"]), "actions": cfg["actions"],
                    "errors": []}
        with self.lock:
            if method == "start":
                if self.run and self.run.status in ("running", "paused"):
                    raise RpcError(-32000, f"run {self.run.id} is {self.run.status}: stop it first")
                try:
                    cfg = load(params.get("path"))
                except Invalid as e:
                    raise RpcError(-32602, "the config is not valid", {"errors": e.errors})
                self.run = Run(cfg)
                self.run.thread.start()
                return {"run_id": self.run.id, "states": len(cfg["states"]), "actions": cfg["actions"]}
            if method in ("pause", "resume", "stop", "status"):
                if not self.run:
                    raise RpcError(-32000, "no run: start one first")
                if method != "status":
                    getattr(self.run, method)()
                return {"run_id": self.run.id, "status": self.run.status, "done": self.run.done,
                        "total": self.run.total}
        raise RpcError(-32601, f"no method {method}")


class RpcError(Exception):
    def __init__(self, code, message, data=None):
        super().__init__(message)
        self.code, self.message, self.data = code, message, data


def serve_stdio():
    """The JSON-RPC loop on stdin; returns at EOF (the runtime is gone)."""
    ex = Executor()
    for raw in sys.stdin.buffer:
        try:
            msg = json.loads(raw)
        except ValueError:
            print(f"executor: a stdin line is not JSON ({len(raw)} bytes)", file=sys.stderr, flush=True)
            continue
        if not isinstance(msg, dict) or "method" not in msg:
            continue  # a response to nothing we asked
        mid = msg.get("id")
        params = msg.get("params") or {}
        try:
            if not isinstance(params, dict):
                raise RpcError(-32602, "params must be an object")
            result = ex.call(msg["method"], params)
            reply = {"jsonrpc": "2.0", "id": mid, "result": result}
        except RpcError as e:
            err = {"code": e.code, "message": e.message}
            if e.data is not None:
                err["data"] = e.data
            reply = {"jsonrpc": "2.0", "id": mid, "error": err}
        except Exception as e:  # noqa: BLE001 - a bug here must not kill the channel
            reply = {"jsonrpc": "2.0", "id": mid, "error": {"code": -32603, "message": f"internal error: {e}"}}
        if mid is not None:
            send(reply)
