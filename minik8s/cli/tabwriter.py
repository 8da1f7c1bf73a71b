"""Go's text/tabwriter, so that columns line up exactly as kubectl's do.

kubectl never pads columns itself: it writes cells separated by tabs into a Go tabwriter
(`get` with min width 6 and padding 3, `describe` and `rollout history` with padding 2) and
lets it align them. Users compare our output with kubectl's, so this module reproduces that
algorithm: a column's width is set per *block* of consecutive lines that have a cell in that
column, the text after a line's last tab is never padded, and `remembered` widths (the
RememberWidths flag of kubectl's tabwriter fork) keep columns from shrinking between the
flushes of a `get --watch`.
"""

from __future__ import annotations

from collections.abc import Sequence

GET_MIN_WIDTH = 6
GET_PADDING = 3
DESCRIBE_MIN_WIDTH = 0
DESCRIBE_PADDING = 2


def align(
    text: str,
    *,
    min_width: int = GET_MIN_WIDTH,
    padding: int = GET_PADDING,
    remembered: list[int] | None = None,
) -> str:
    """`text` (cells ended by tabs, lines by newlines) with its columns padded with spaces.

    `remembered`, when given, holds column widths from earlier calls: they only ever grow, and
    the list is updated in place.
    """
    ends_with_newline = text.endswith("\n")
    lines = [line.split("\t") for line in (text[:-1] if ends_with_newline else text).split("\n")]
    output: list[str] = []
    _format(lines, 0, len(lines), [], output, min_width=min_width, padding=padding, remembered=remembered)
    return "\n".join(output) + ("\n" if ends_with_newline else "")


def _format(
    lines: Sequence[Sequence[str]],
    first: int,
    end: int,
    widths: list[int],
    output: list[str],
    *,
    min_width: int,
    padding: int,
    remembered: list[int] | None,
) -> None:
    """Write lines[first:end], opening a column block wherever a line has a cell in the next column."""
    column = len(widths)
    written = first
    index = first
    while index < end:
        if column >= len(lines[index]) - 1:
            index += 1
            continue
        _write(lines, written, index, widths, output)
        block_start = index
        width = min_width
        while index < end and column < len(lines[index]) - 1:
            width = max(width, len(lines[index][column]) + padding)
            index += 1
        if remembered is not None:
            while len(remembered) <= column:
                remembered.append(0)
            width = max(width, remembered[column])
            remembered[column] = width
        widths.append(width)
        _format(lines, block_start, index, widths, output, min_width=min_width, padding=padding,
                remembered=remembered)
        widths.pop()
        written = index
    _write(lines, written, end, widths, output)


def _write(lines: Sequence[Sequence[str]], first: int, end: int, widths: Sequence[int], output: list[str]) -> None:
    for line in lines[first:end]:
        parts = [cell.ljust(widths[index]) if index < len(widths) else cell for index, cell in enumerate(line)]
        output.append("".join(parts))
