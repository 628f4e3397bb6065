"""Recursive-descent parser for OData v4 `$filter` text (the subset both services answer).

Precedence, loosest first: `or`, `and`, `not`, comparisons / `in`; parentheses group.
"""

from __future__ import annotations

from sandbox.odata.errors import ODataSyntaxError, UnsupportedQueryOption
from sandbox.odata.lexer import LITERAL_KINDS, Token, TokenKind, tokenize
from sandbox.odata.syntax_tree import (
    COMPARISON_OPERATORS,
    And,
    Call,
    Comparison,
    In,
    Literal,
    Node,
    Not,
    Or,
    Property,
)

FUNCTION_ARITY = {"contains": 2, "startswith": 2, "endswith": 2, "tolower": 1, "toupper": 1}
_CRM_IN = {"Microsoft.Dynamics.CRM.In": False, "Microsoft.Dynamics.CRM.NotIn": True}
_KEYWORDS = COMPARISON_OPERATORS | {"and", "or", "not", "in"}


def parse_filter(text: str) -> Node:
    """The syntax tree of a `$filter` value; ODataSyntaxError (with the position) when malformed."""
    if not text.strip():
        raise ODataSyntaxError("the filter is empty", text, 0)
    return _Parser(text).parse()


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.index = 0

    # -- token access ----------------------------------------------------------------------

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        if token.kind is not TokenKind.END:
            self.index += 1
        return token

    def at_word(self, word: str) -> bool:
        return self.current.kind is TokenKind.NAME and self.current.value == word

    def expect(self, kind: TokenKind, what: str) -> Token:
        if self.current.kind is not kind:
            raise self.error(f"expected {what}, found {self._describe(self.current)}")
        return self.advance()

    def error(self, message: str, token: Token | None = None) -> ODataSyntaxError:
        return ODataSyntaxError(message, self.text, (token or self.current).position)

    @staticmethod
    def _describe(token: Token) -> str:
        return "end of input" if token.kind is TokenKind.END else f"'{token.text}'"

    # -- grammar -----------------------------------------------------------------------------

    def parse(self) -> Node:
        node = self.parse_or()
        if self.current.kind is not TokenKind.END:
            raise self.error(f"expected 'and', 'or' or the end, found {self._describe(self.current)}")
        return node

    def parse_or(self) -> Node:
        node = self.parse_and()
        while self.at_word("or"):
            operator = self.advance()
            node = Or(node, self.parse_and(), operator.position)
        return node

    def parse_and(self) -> Node:
        node = self.parse_not()
        while self.at_word("and"):
            operator = self.advance()
            node = And(node, self.parse_not(), operator.position)
        return node

    def parse_not(self) -> Node:
        if self.at_word("not"):
            operator = self.advance()
            return Not(self.parse_not(), operator.position)
        return self.parse_comparison()

    def parse_comparison(self) -> Node:
        left = self.parse_operand()
        token = self.current
        if token.kind is TokenKind.NAME and token.value in COMPARISON_OPERATORS:
            self.advance()
            return Comparison(token.value, left, self.parse_operand(), token.position)
        if self.at_word("in"):
            self.advance()
            return In(left, self.parse_in_list(), token.position)
        return left

    def parse_in_list(self) -> tuple[Literal, ...]:
        self.expect(TokenKind.OPEN, "'(' to start the list of values after 'in'")
        values = [self.parse_literal()]
        while self.current.kind is TokenKind.COMMA:
            self.advance()
            values.append(self.parse_literal())
        self.expect(TokenKind.CLOSE, "',' or ')' in the list of values")
        return tuple(values)

    def parse_literal(self) -> Literal:
        token = self.current
        if token.kind not in LITERAL_KINDS:
            raise self.error(f"expected a literal value, found {self._describe(token)}")
        self.advance()
        return Literal(token.value, token.kind, token.position)

    def parse_operand(self) -> Node:
        token = self.current
        if token.kind is TokenKind.OPEN:
            self.advance()
            node = self.parse_or()
            self.expect(TokenKind.CLOSE, "')'")
            return node
        if token.kind in LITERAL_KINDS:
            return self.parse_literal()
        if token.kind is TokenKind.NAME:
            if token.value in _KEYWORDS:
                raise self.error(f"expected a property, a value or a function, found '{token.text}'")
            self.advance()
            if self.current.kind is TokenKind.OPEN:
                return self.parse_call(token)
            if self.current.kind is TokenKind.SLASH:
                raise UnsupportedQueryOption(
                    f"Navigation paths such as '{token.text}/...' are not supported in $filter; "
                    "filter on the lookup's _<name>_value column instead.",
                    position=token.position,
                )
            return Property(token.value, token.position)
        raise self.error(f"expected a property, a value or a function, found {self._describe(token)}")

    def parse_call(self, name: Token) -> Node:
        if name.value in _CRM_IN:
            return self.parse_crm_in(name)
        if name.value not in FUNCTION_ARITY:
            raise UnsupportedQueryOption(
                f"The function '{name.text}' is not supported in $filter "
                f"(supported: {', '.join(sorted(FUNCTION_ARITY))}, Microsoft.Dynamics.CRM.In).",
                position=name.position,
            )
        self.expect(TokenKind.OPEN, "'('")
        arguments = [self.parse_or()]
        while self.current.kind is TokenKind.COMMA:
            self.advance()
            arguments.append(self.parse_or())
        self.expect(TokenKind.CLOSE, "',' or ')' after a function argument")
        arity = FUNCTION_ARITY[name.value]
        if len(arguments) != arity:
            raise ODataSyntaxError(
                f"{name.value} takes {arity} argument{'s' if arity > 1 else ''}, got {len(arguments)}",
                self.text,
                name.position,
            )
        return Call(name.value, tuple(arguments), name.position)

    def parse_crm_in(self, name: Token) -> Node:
        # Microsoft.Dynamics.CRM.In(PropertyName='statecode',PropertyValues=['0','1'])
        self.expect(TokenKind.OPEN, "'('")
        parameters: dict[str, Token | list[Literal]] = {}
        while True:
            parameter = self.expect(TokenKind.NAME, "PropertyName or PropertyValues")
            if parameter.value not in ("PropertyName", "PropertyValues") or parameter.value in parameters:
                raise self.error(f"unexpected parameter '{parameter.text}'", parameter)
            self.expect(TokenKind.EQUALS, "'='")
            if parameter.value == "PropertyName":
                parameters["PropertyName"] = self.expect(TokenKind.STRING, "a quoted property name")
            else:
                parameters["PropertyValues"] = self.parse_bracket_list()
            if self.current.kind is not TokenKind.COMMA:
                break
            self.advance()
        self.expect(TokenKind.CLOSE, "')'")
        if len(parameters) != 2:
            raise ODataSyntaxError(
                f"{name.text} needs PropertyName and PropertyValues", self.text, name.position
            )
        property_token = parameters["PropertyName"]
        assert isinstance(property_token, Token)
        values = parameters["PropertyValues"]
        assert isinstance(values, list)
        node: Node = In(Property(property_token.value, property_token.position), tuple(values), name.position)
        return Not(node, name.position) if _CRM_IN[name.value] else node

    def parse_bracket_list(self) -> list[Literal]:
        self.expect(TokenKind.OPEN_BRACKET, "'[' to start the list of values")
        values = [self.parse_literal()]
        while self.current.kind is TokenKind.COMMA:
            self.advance()
            values.append(self.parse_literal())
        self.expect(TokenKind.CLOSE_BRACKET, "',' or ']' in the list of values")
        return values
