import time


def wait_until(predicate, timeout: float = 30, what: str = "the condition"):
    """Poll until `predicate()` is truthy; fail saying what never happened."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
