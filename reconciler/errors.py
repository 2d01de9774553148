"""The errors every layer raises (after pre-commit's errors module): no click, no botocore.

Expected failures raise `FatalError` (or a subclass): one message, exit 1. The CLI handler
(reconciler.cli_errors) turns them, and everything else, into exit codes.
"""

from __future__ import annotations


class FatalError(Exception):
    """An expected failure the user can act on. The message says what and what to do."""

    exit_code = 1
