"""What text input may hold, as patterns that both validate and appear in the OpenAPI document.

No control characters in a line of text (no real title, name or tag has one, and a NUL
cannot even be stored by some backends: FerretDB on PostgreSQL refuses it in a query,
which reached clients as a 500 before this rule); a field that is stripped and must not
be empty needs one character that is not whitespace.
"""

from __future__ import annotations

# One line: any characters but C0 controls and DEL.
ONE_LINE = r"^[^\x00-\x1f\x7f]*$"
# One line with something in it besides whitespace (for fields stripped, then required).
ONE_LINE_NOT_BLANK = r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$"
# Several lines: tabs and line breaks allowed, other controls not.
MULTI_LINE = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
