"""From a contract's `checks` entry to a pandera check.

Apart from `checks` (which runs them) so that `contract` can build every check when a contract
loads, and fail on a bad argument there, without importing the modules that import it.
"""

from __future__ import annotations

from typing import Any

import pandera.pyarrow as pda
import pyarrow as pa

from .custom_checks import CUSTOM_CHECKS

BUILTIN_CHECKS = {
    "eq", "ne", "gt", "ge", "lt", "le", "in_range", "isin", "notin",
    "str_matches", "str_contains", "str_startswith", "str_endswith", "str_length",
}
CHECK_NAMES = BUILTIN_CHECKS | CUSTOM_CHECKS.keys()
# pandera compiles these patterns with Python's re, but pyarrow runs them with RE2.
REGEX_CHECKS = {"str_matches", "str_contains"}
RE2_HINT = "the check runs with RE2, which has no lookaround, backreferences or possessive quantifiers"


def build_check(name: str, arg: Any) -> pda.Check:
    """One pandera check from a contract entry: `{ge: 0}`, `{str_length: {min_value: 1}}`, or a
    named check of custom_checks (`{trimmed: {}}`).

    Raises what pandera raises for a bad argument (TypeError, ValueError, re.error...).
    """
    if name in CUSTOM_CHECKS:
        if arg not in ({}, None, True):
            raise ValueError(f"{name} takes no argument; write {name}: {{}}")
        return pda.Check(CUSTOM_CHECKS[name], name=name, error=name)
    factory = getattr(pda.Check, name)
    return factory(**arg) if isinstance(arg, dict) else factory(arg)


def check_runs(name: str, arg: Any) -> None:
    """build_check, and a regex check run once on one value, as a file runs it: a pattern Python's
    re takes but RE2 refuses (`(?=...)`, `\\1`, `a{1001}`) fails here, at load, not on every file.

    Raises what build_check raises, or ValueError with RE2's message.
    """
    check = build_check(name, arg)
    if name in REGEX_CHECKS:
        try:
            check(pa.table({"value": [""]}), column="value")
        except pa.ArrowInvalid as exc:
            raise ValueError(f"{exc} ({RE2_HINT})") from exc
