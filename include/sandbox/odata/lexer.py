"""Splits an OData `$filter` expression into tokens (literals, names, punctuation) with positions."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sandbox.odata.errors import ODataSyntaxError
from sandbox.storage.values import parse_date, parse_datetime


class TokenKind(StrEnum):
    STRING = "string"
    INTEGER = "integer"
    DECIMAL = "decimal"
    BOOLEAN = "boolean"
    NULL = "null"
    GUID = "guid"
    DATETIME = "datetime"
    DATE = "date"
    NAME = "name"  # property, operator keyword or function name (may be dotted)
    OPEN = "("
    CLOSE = ")"
    COMMA = ","
    EQUALS = "="
    OPEN_BRACKET = "["
    CLOSE_BRACKET = "]"
    SLASH = "/"
    END = "end"


LITERAL_KINDS = frozenset(
    {
        TokenKind.STRING,
        TokenKind.INTEGER,
        TokenKind.DECIMAL,
        TokenKind.BOOLEAN,
        TokenKind.NULL,
        TokenKind.GUID,
        TokenKind.DATETIME,
        TokenKind.DATE,
    }
)


@dataclass(frozen=True)
class Token:
    kind: TokenKind
    value: Any
    position: int
    text: str  # as written, for error messages


_NOT_AFTER = r"(?![\w.:-])"  # a literal must not run into a name or another literal
_PATTERNS: tuple[tuple[TokenKind, re.Pattern[str]], ...] = (
    (
        TokenKind.GUID,
        re.compile(
            r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}" + _NOT_AFTER
        ),
    ),
    (
        TokenKind.DATETIME,
        re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})" + _NOT_AFTER),
    ),
    (TokenKind.DATE, re.compile(r"\d{4}-\d{2}-\d{2}" + _NOT_AFTER)),
    (TokenKind.DECIMAL, re.compile(r"-?\d+(?:\.\d+(?:[eE][+-]?\d+)?|[eE][+-]?\d+)" + _NOT_AFTER)),
    (TokenKind.INTEGER, re.compile(r"-?\d+" + _NOT_AFTER)),
    (TokenKind.NAME, re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")),
)
_PUNCTUATION = {
    "(": TokenKind.OPEN,
    ")": TokenKind.CLOSE,
    ",": TokenKind.COMMA,
    "=": TokenKind.EQUALS,
    "[": TokenKind.OPEN_BRACKET,
    "]": TokenKind.CLOSE_BRACKET,
    "/": TokenKind.SLASH,
}
_WORD_LITERALS = {
    "true": (TokenKind.BOOLEAN, True),
    "false": (TokenKind.BOOLEAN, False),
    "null": (TokenKind.NULL, None),
}


def tokenize(text: str) -> list[Token]:
    """The tokens of `text`, ending with an END token; ODataSyntaxError on anything unreadable."""
    tokens: list[Token] = []
    position = 0
    length = len(text)
    while position < length:
        char = text[position]
        if char.isspace():
            position += 1
            continue
        if char == "'":
            token, position = _read_string(text, position)
            tokens.append(token)
            continue
        if char in _PUNCTUATION:
            tokens.append(Token(_PUNCTUATION[char], char, position, char))
            position += 1
            continue
        token = _read_pattern(text, position)
        tokens.append(token)
        position += len(token.text)
    tokens.append(Token(TokenKind.END, None, length, "end of input"))
    return tokens


def _read_string(text: str, start: int) -> tuple[Token, int]:
    # A quote inside a string literal is written twice: 'O''Brien'.
    parts: list[str] = []
    position = start + 1
    while True:
        end = text.find("'", position)
        if end < 0:
            raise ODataSyntaxError("unterminated string literal (missing closing quote)", text, start)
        parts.append(text[position:end])
        if end + 1 < len(text) and text[end + 1] == "'":
            parts.append("'")
            position = end + 2
            continue
        return Token(TokenKind.STRING, "".join(parts), start, text[start : end + 1]), end + 1


def _read_pattern(text: str, position: int) -> Token:
    for kind, pattern in _PATTERNS:
        match = pattern.match(text, position)
        if match is None:
            continue
        written = match.group()
        if kind is TokenKind.NAME and written in _WORD_LITERALS:
            word_kind, value = _WORD_LITERALS[written]
            return Token(word_kind, value, position, written)
        return Token(kind, _literal_value(kind, written, text, position), position, written)
    char = text[position]
    if char.isdigit() or char == "-":
        raise ODataSyntaxError("malformed number, date or GUID", text, position)
    raise ODataSyntaxError(f"unexpected character {char!r}", text, position)


def _literal_value(kind: TokenKind, written: str, text: str, position: int) -> Any:
    if kind is TokenKind.NAME:
        return written
    if kind is TokenKind.INTEGER:
        return int(written)
    if kind is TokenKind.DECIMAL:
        return Decimal(written)
    if kind is TokenKind.GUID:
        return written.lower()
    try:
        if kind is TokenKind.DATETIME:
            value: datetime | date = parse_datetime(written)
        else:
            value = parse_date(written)
    except ValueError as error:
        raise ODataSyntaxError(str(error), text, position) from None
    return value
