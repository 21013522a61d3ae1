"""How a message quotes an exception: its type and the first line of its text, cut short
(a user's traceback belongs in the job's log, not in a one-line message)."""


def said(exc: BaseException, limit: int = 300) -> str:
    """``Type: first line of the text``, at most ``limit`` characters."""
    return f"{type(exc).__name__}: {exc}".splitlines()[0][:limit]
