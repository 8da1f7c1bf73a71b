"""The selector error type and the tokens of the label selector string syntax.

Kept apart from the parsers so each module stays small and both the label and the field
selector parsers can raise the same error. Splits text the way apimachinery's lexer does: whitespace separates, the symbols `= ! ( ) , > <` form operators (longest
known match: `==`, `!=`), `in`/`notin` are keywords, everything else is an identifier.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class SelectorError(ValueError):
    """A selector string or object that Kubernetes would reject."""


class TokenKind(enum.Enum):
    END = "end of string"
    ERROR = "error"
    IDENTIFIER = "identifier"
    COMMA = ","
    OPEN_PAREN = "("
    CLOSE_PAREN = ")"
    NOT = "!"
    EQUALS = "="
    DOUBLE_EQUALS = "=="
    NOT_EQUALS = "!="
    GREATER_THAN = ">"
    LESS_THAN = "<"
    IN = "in"
    NOT_IN = "notin"


@dataclass(frozen=True)
class Token:
    kind: TokenKind
    text: str

    def as_identifier(self) -> Token:
        """Keywords are plain identifiers where a key or value is expected (`in in (in)`)."""
        if self.kind in (TokenKind.IN, TokenKind.NOT_IN):
            return Token(TokenKind.IDENTIFIER, self.text)
        return self


_SPECIAL = frozenset("=!(),><")
_WHITESPACE = frozenset(" \t\r\n")
_SYMBOLS = {kind.value: kind for kind in TokenKind if kind.value and all(c in _SPECIAL for c in kind.value)}
_KEYWORDS = {"in": TokenKind.IN, "notin": TokenKind.NOT_IN}


def tokenize(text: str) -> list[Token]:
    """All tokens of `text`, ending with one END token."""
    tokens: list[Token] = []
    position = 0
    while True:
        while position < len(text) and text[position] in _WHITESPACE:
            position += 1
        if position >= len(text):
            tokens.append(Token(TokenKind.END, ""))
            return tokens
        if text[position] in _SPECIAL:
            token, position = _scan_symbol(text, position)
        else:
            token, position = _scan_word(text, position)
        tokens.append(token)


def _scan_symbol(text: str, start: int) -> tuple[Token, int]:
    """Longest run of special characters that still spells a known operator."""
    best: Token | None = None
    best_end = start
    end = start
    while end < len(text) and text[end] in _SPECIAL:
        end += 1
        candidate = text[start:end]
        if candidate in _SYMBOLS:
            best, best_end = Token(_SYMBOLS[candidate], candidate), end
        elif best is not None:
            break
    if best is None:
        return Token(TokenKind.ERROR, text[start:end]), end
    return best, best_end


def _scan_word(text: str, start: int) -> tuple[Token, int]:
    end = start
    while end < len(text) and text[end] not in _SPECIAL and text[end] not in _WHITESPACE:
        end += 1
    word = text[start:end]
    return Token(_KEYWORDS.get(word, TokenKind.IDENTIFIER), word), end
