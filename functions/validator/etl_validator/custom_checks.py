"""Named checks registered in code, usable in any contract by name like pandera's built-ins.

A contract says `checks: {trimmed: {}}`; the schema gets `Check(trimmed, name="trimmed")`. A check
receives the batch (`data.table`) and the column name (`data.key`) and returns a narwhals
expression that is true where a value passes. To add one, write the function here and list it in
CUSTOM_CHECKS. (pandera's `extensions.register_check_method` would also do, but it imports numpy,
which the Lambda package leaves out to stay under the size limit.)
"""

from __future__ import annotations

from collections.abc import Callable

import narwhals.stable.v1 as nw
from pandera.api.pyarrow.types import PyArrowData


def trimmed(data: PyArrowData) -> nw.Expr:
    """No leading or trailing whitespace: a padded code or name joins to nothing downstream."""
    return nw.col(data.key) == nw.col(data.key).str.strip_chars()


def no_control_characters(data: PyArrowData) -> nw.Expr:
    """No ASCII control characters (tabs, NULs, escapes) that break exports and dashboards."""
    return ~nw.col(data.key).str.contains(r"[\x00-\x1f\x7f]")


CUSTOM_CHECKS: dict[str, Callable[[PyArrowData], nw.Expr]] = {
    "trimmed": trimmed,
    "no_control_characters": no_control_characters,
}
