"""Runs a proxymod job's model scripts for the Go dispatcher, in a child process.

usage: python driver.py SPEC.json RESULT.json

SPEC holds {"models": [{"file", "path", "function"}], "configs": [absolute paths]}. Each
model script is loaded from its path and the function named after its file is called with
the configuration paths, in order. On the first model that cannot be loaded, lacks its
function, or raises, the traceback goes to standard error, RESULT gets {"file", "reason"},
and the driver exits with status 3.
"""
import importlib.util
import json
import os
import sys
import traceback


def fail(result_path, name, reason, tb=True):
    if tb:
        traceback.print_exc()
    print("proxymod model for file %r is invalid: %s" % (name, reason), file=sys.stderr)
    sys.stderr.flush()
    with open(result_path, "w") as f:
        json.dump({"file": name, "reason": reason}, f)
    sys.exit(3)


def describe(e):
    text = str(e)
    return type(e).__name__ + (": " + text if text else "")


def main():
    spec_path, result_path = sys.argv[1], sys.argv[2]
    with open(spec_path) as f:
        spec = json.load(f)
    configs = spec["configs"]
    for i, m in enumerate(spec["models"]):
        model_dir = os.path.dirname(m["path"])
        if model_dir not in sys.path:
            sys.path.insert(0, model_dir)
        try:
            s = importlib.util.spec_from_file_location("proxymod_model_%d_%s" % (i, m["function"]), m["path"])
            module = importlib.util.module_from_spec(s)
            s.loader.exec_module(module)
        except BaseException as e:  # noqa: B902 - user code may raise anything
            fail(result_path, m["file"], "cannot be loaded: " + describe(e))
        fn = getattr(module, m["function"], None)
        if not callable(fn):
            fail(result_path, m["file"], "it defines no function %r" % m["function"], tb=False)
        try:
            fn(*configs)
        except SystemExit as e:
            if e.code not in (None, 0):
                fail(result_path, m["file"], "it exited with status %r" % (e.code,))
        except BaseException as e:  # noqa: B902
            fail(result_path, m["file"], describe(e))
        sys.stdout.flush()
        sys.stderr.flush()


if __name__ == "__main__":
    main()
