"""A helper the Python tests share (not a test itself: lit.cfg.py
excludes it)."""

import contextlib
import os


@contextlib.contextmanager
def environment(values):
    """Sets the environment variables `values` (a dict, may be empty)
    inside the block and restores what they were after it."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
