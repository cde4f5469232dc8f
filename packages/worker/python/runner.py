"""Runs Python function works for the workflow worker, one after another, in a warm process.

The worker sends one JSON request a line on fd 3 and reads one JSON reply a line on fd 4, so the
function's own prints (fd 1 and 2) never mix with the protocol. After each work, a marker line
goes to fd 1 and fd 2: the worker knows that what came before it belongs to that work.

Request: {"id": n, "function": "pkg.module.func", "parameters": {...}, "roots": [...], "marker": "..."}
Reply:   {"id": n, "ok": true, "results": {...}, "products": [...]?, "plots": [...]?, "loaded": [...]}
      or {"id": n, "ok": false, "error": "<last line of the traceback>", "traceback": "...", "loaded": [...]}

"loaded" lists the module files under the roots imported since the last reply, each as
[realpath, "mtime_ns:size"]: the worker replaces this process once one of them changes, since a
module imported here is never imported again (and edited code would not run).

Parameters are data: they reach the function as keyword arguments, never as code. Functions load
only from the worker's function roots ("roots"), as Node functions do; never from the standard
library, even through a package that re-exports it.
"""

import functools
import importlib
import importlib.util
import json
import math
import os
import queue
import signal
import site
import sys
import sysconfig
import threading
import traceback

REQUESTS_FD = 3
REPLIES_FD = 4


def end_everything():
    """The worker is gone: end this process and all the function started, rather than run on."""
    try:
        os.killpg(os.getpgrp(), signal.SIGKILL)
    finally:
        os._exit(1)


def read_requests(inbox):
    with open(REQUESTS_FD, "r", encoding="utf-8", closefd=True) as requests:
        for line in requests:
            if line.strip():
                inbox.put(line)
    end_everything()


def plain(value, depth=0):
    """A JSON-safe copy: numpy scalars and arrays, paths, sets and NaN become what JSON can hold."""
    if depth > 64:
        raise ValueError("the value is nested more than 64 levels deep")
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(v, depth + 1) for v in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    for convert in ("tolist", "item"):
        method = getattr(value, convert, None)
        if callable(method):
            return plain(method(), depth + 1)
    return str(value)


def paths(value, what):
    if value is None:
        return None
    if isinstance(value, (str, os.PathLike)):
        return [os.fspath(value)]
    if isinstance(value, (list, tuple)):
        return [os.fspath(p) if isinstance(p, os.PathLike) else str(p) for p in value]
    raise TypeError(f"{what} must be a list of paths, not {type(value).__name__}")


def shape(value):
    """A dict is results; a tuple is (results, products, plots); anything else is {value}."""
    if isinstance(value, tuple):
        if len(value) > 3:
            raise TypeError(
                f"a tuple return must be (results, products, plots), not {len(value)} items"
            )
        results, products, plots = (list(value) + [None, None, None])[:3]
    else:
        results, products, plots = value, None, None
    if results is None:
        results = {}
    elif not isinstance(results, dict):
        results = {"value": results}
    reply = {"results": plain(results)}
    for key, found in (("products", paths(products, "products")), ("plots", paths(plots, "plots"))):
        if found is not None:
            reply[key] = found
    return reply


WHERE = "name a function of a module under one of this worker's function roots"


def real_roots(paths):
    return tuple(os.path.realpath(p) for p in paths if p)


def under(path, roots):
    return any(path == root or path.startswith(root + os.sep) for root in roots)


@functools.lru_cache(maxsize=1)
def site_directories():
    paths = sysconfig.get_paths()
    found = [paths.get("purelib"), paths.get("platlib"), *site.getsitepackages()]
    if site.ENABLE_USER_SITE:
        found.append(site.getusersitepackages())
    return real_roots(found)


def in_stdlib(real):
    """Python's own library (installed packages often live inside it, and are not part of it)."""
    paths = sysconfig.get_paths()
    stdlib = real_roots([paths.get("stdlib"), paths.get("platstdlib")])
    return under(real, stdlib) and not under(real, site_directories())


def refuse_location(what, real, roots):
    if in_stdlib(real):
        raise PermissionError(f"refused: {what} is part of Python's standard library; {WHERE}")
    if not under(real, roots):
        raise PermissionError(
            f"refused: {what} lies outside this worker's function roots ({', '.join(roots)}); "
            "start the worker with --function-root to allow its directory"
        )


@functools.lru_cache(maxsize=1024)
def check_package(top, roots):
    """Before anything is imported: the top-level package must lie under a function root (its
    import runs its code), and never be built in or of the standard library (os, subprocess)."""
    spec = importlib.util.find_spec(top)
    if spec is None:
        raise ModuleNotFoundError(f"No module named '{top}' ({WHERE})")
    if top in sys.builtin_module_names or spec.origin in ("built-in", "frozen"):
        raise PermissionError(f"refused: '{top}' is built into Python; {WHERE}")
    locations = list(spec.submodule_search_locations or []) or [spec.origin or ""]
    reals = [os.path.realpath(location) for location in locations]
    if any(under(real, roots) and not in_stdlib(real) for real in reals):
        return
    refuse_location(f"'{top}'", reals[0], roots)


def check_defined(name, function, roots):
    """The function itself must be defined in a module under a root: a package there may import
    (re-export) anything, `from subprocess import check_output` say, and that must not run."""
    module_name = getattr(function, "__module__", None)
    module = sys.modules.get(module_name) if isinstance(module_name, str) else None
    origin = getattr(module, "__file__", None)
    if not origin:
        raise PermissionError(f"refused: {name} is defined in '{module_name}', which has no file; {WHERE}")
    refuse_location(f"{name} (defined in '{module_name}')", os.path.realpath(origin), roots)


def resolve(name, roots):
    module_name, _, attribute = name.rpartition(".")
    check_package(module_name.split(".", 1)[0], roots)
    module = importlib.import_module(module_name)
    function = getattr(module, attribute, None)
    if function is None:
        raise AttributeError(f"module '{module_name}' has no attribute '{attribute}'")
    return function


def call(name, parameters, roots):
    function = resolve(name, roots)
    # A click command (as CHIME's pipelines write them): call its callback, with its defaults.
    callback = getattr(function, "callback", None)
    if callable(callback) and isinstance(getattr(function, "params", None), list):
        defaults = {
            p.name: p.default
            for p in function.params
            if p.name not in parameters and not callable(p.default)
        }
        function, parameters = callback, {**defaults, **parameters}
    if not callable(function):
        raise TypeError(f"{name} is not callable")
    check_defined(name, function, roots)
    return function(**parameters)


def run(request):
    try:
        roots = real_roots(request.get("roots") or [])
        value = call(request["function"], request.get("parameters") or {}, roots)
        return {"ok": True, **shape(value)}
    except BaseException as error:  # noqa: BLE001 - SystemExit too: the process serves on
        lines = traceback.format_exception_only(type(error), error)
        last = lines[-1].strip() if lines else type(error).__name__
        # The traceback starts at the user's code: this file's own frames say nothing to them.
        frames = error.__traceback__
        while frames is not None and frames.tb_frame.f_code.co_filename == __file__:
            frames = frames.tb_next
        text = "".join(traceback.format_exception(type(error), error, frames))
        return {"ok": False, "error": last, "traceback": text}


SEEN_MODULES = set()


def newly_loaded(roots):
    found = []
    for name, module in list(sys.modules.items()):
        if name in SEEN_MODULES:
            continue
        SEEN_MODULES.add(name)
        origin = getattr(module, "__file__", None)
        if not isinstance(origin, str):
            continue
        real = os.path.realpath(origin)
        if not under(real, roots) or in_stdlib(real):
            continue
        try:
            stat = os.stat(real)
        except OSError:
            continue
        found.append([real, f"{stat.st_mtime_ns}:{stat.st_size}"])
    return found


def mark(marker):
    """Flushes what the function printed, then marks its end on both streams."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001 - a function may have closed or replaced it
            pass
    line = ("\n" + marker + "\n").encode("utf-8")
    for fd in (1, 2):
        try:
            os.write(fd, line)
        except OSError:
            pass


def main():
    for fd in (REQUESTS_FD, REPLIES_FD):
        os.set_inheritable(fd, False)
    # Modules resolve from the worker's directory and PYTHONPATH, never from this file's folder.
    sys.path[0] = os.getcwd()
    sys.stdin = open(os.devnull, "r")
    replies = open(REPLIES_FD, "w", encoding="utf-8", closefd=True)
    inbox = queue.Queue()
    threading.Thread(target=read_requests, args=(inbox,), daemon=True).start()
    while True:
        request = json.loads(inbox.get())
        reply = run(request)
        reply["loaded"] = newly_loaded(real_roots(request.get("roots") or []))
        try:
            text = json.dumps({"id": request["id"], **reply}, allow_nan=False)
        except (TypeError, ValueError) as error:
            text = json.dumps(
                {
                    "id": request["id"],
                    "ok": False,
                    "error": f"the return value cannot be sent as JSON: {error}",
                    "loaded": reply["loaded"],
                }
            )
        mark(request["marker"])
        replies.write(text + "\n")
        replies.flush()


if __name__ == "__main__":
    main()
