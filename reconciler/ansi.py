"""Terminal colours as ANSI codes, without click, so the pure renderers can colour text."""

from __future__ import annotations

# The codes click.style writes, so coloured output reads the same as before.
_FG = {
    "black": 30,
    "red": 31,
    "green": 32,
    "yellow": 33,
    "blue": 34,
    "magenta": 35,
    "cyan": 36,
    "white": 37,
}
_BOLD = "\x1b[1m"
_NOT_BOLD = "\x1b[22m"  # click writes it when bold=False is passed, as output.style always did
_RESET = "\x1b[0m"


def style(text: str, fg: str | None = None, bold: bool = False, enabled: bool = True) -> str:
    if not enabled:
        return text
    prefix = (f"\x1b[{_FG[fg]}m" if fg is not None else "") + (_BOLD if bold else _NOT_BOLD)
    return f"{prefix}{text}{_RESET}"
