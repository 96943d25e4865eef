"""Named checks registered in code, usable in any contract by name like pandera's built-ins.

Each is registered with pandera's extension registry (`pandera.extensions.register_check_method`),
so a contract says `checks: {trimmed: {}}` and the schema calls `Check.trimmed()`. A check gets the
batch and the column name and returns a narwhals expression that is true where a value passes.
To add one: write the function here with the decorator and list its name in CUSTOM_CHECKS.
"""

from __future__ import annotations

import narwhals.stable.v1 as nw
from pandera import extensions
from pandera.api.pyarrow.types import PyArrowData


@extensions.register_check_method()
def trimmed(data: PyArrowData) -> nw.Expr:
    """No leading or trailing whitespace: a padded code or name joins to nothing downstream."""
    return nw.col(data.key) == nw.col(data.key).str.strip_chars()


@extensions.register_check_method()
def no_control_characters(data: PyArrowData) -> nw.Expr:
    """No ASCII control characters (tabs, NULs, escapes) that break exports and dashboards."""
    return ~nw.col(data.key).str.contains(r"[\x00-\x1f\x7f]")


CUSTOM_CHECKS = {"trimmed", "no_control_characters"}
