"""A small OData ``$filter`` parser and evaluator for directory objects.

Supports what playbooks use: ``eq``/``ne`` on strings, booleans and null, ``in (...)``,
``startsWith``/``endsWith``, ``not``, ``and``/``or`` and parentheses.  It also reports whether an
expression needs the advanced query parameters (``ne``, ``not``, ``endsWith``) and rejects
properties and operators the type does not support, with the error bodies Graph uses, so that a
client that works here does not fail later against Graph for a query Graph refuses.  String
comparisons are case-insensitive, as in the directory.
"""

import re
from typing import Any, Callable

from .graph_context import GraphError
from .graph_schema import EntityType

_TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<punct>[(),])|(?P<word>[A-Za-z_$][\w.$/]*)|(?P<num>-?\d+(?:\.\d+)?))")
ADVANCED_HINT = ("is not supported because the required parameters might be missing. Try adding $count=true query parameter "
                 "and ConsistencyLevel:eventual header. Refer to https://aka.ms/graph-docs/advanced-queries for more information")


def _syntax(text: str, detail: str) -> GraphError:
    return GraphError(400, "BadRequest", f"Invalid filter clause: {detail} in '{text}'.")


def _tokens(text: str) -> list:
    out, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if not match:
            raise _syntax(text, f"Syntax error at position {pos}")
        kind = match.lastgroup
        value = match.group(kind)
        if kind == "str":
            out.append(("lit", value[1:-1].replace("''", "'")))
        elif kind == "num":
            out.append(("lit", float(value) if "." in value else int(value)))
        elif kind == "word" and value.lower() in ("true", "false"):
            out.append(("lit", value.lower() == "true"))
        elif kind == "word" and value.lower() == "null":
            out.append(("lit", None))
        else:
            out.append((kind, value))
        pos = match.end()
    return out


def _either(left: Callable, right: Callable) -> Callable:
    return lambda o: left(o) or right(o)


def _both(left: Callable, right: Callable) -> Callable:
    return lambda o: left(o) and right(o)


def _norm(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


class _Parser:
    """Recursive descent over the token list; builds a predicate and notes advanced operators."""

    def __init__(self, text: str, etype: EntityType):
        self.text = text
        self.etype = etype
        self.toks = _tokens(text)
        self.pos = 0
        self.advanced: list = []  # operator names that need advanced query parameters

    def peek(self, lower=True):
        if self.pos >= len(self.toks):
            return None
        kind, value = self.toks[self.pos]
        return value.lower() if lower and kind in ("word", "punct") else (kind, value)

    def take(self):
        if self.pos >= len(self.toks):
            raise _syntax(self.text, f"Syntax error at position {len(self.text)}")
        tok = self.toks[self.pos]
        self.pos += 1
        return tok

    def expect(self, punct: str):
        kind, value = self.take()
        if kind != "punct" or value != punct:
            raise _syntax(self.text, f"Expected '{punct}'")

    def parse(self) -> Callable[[dict], bool]:
        pred = self.or_expr()
        if self.pos != len(self.toks):
            raise _syntax(self.text, f"Syntax error at token {self.pos + 1}")
        return pred

    def or_expr(self):
        left = self.and_expr()
        while self.peek() == "or":
            self.take()
            right = self.and_expr()
            left = _either(left, right)
        return left

    def and_expr(self):
        left = self.unary()
        while self.peek() == "and":
            self.take()
            right = self.unary()
            left = _both(left, right)
        return left

    def unary(self):
        head = self.peek()
        if head == "not":
            self.take()
            self.advanced.append("not")
            inner = self.unary()
            return lambda o: not inner(o)
        if head == "(":
            self.take()
            inner = self.or_expr()
            self.expect(")")
            return inner
        if head in ("startswith", "endswith"):
            return self.function(head)
        return self.comparison()

    def prop(self, allowed: frozenset) -> str:
        kind, name = self.take()
        if kind != "word":
            raise _syntax(self.text, "Expected a property name")
        if "/" in name:
            raise GraphError(400, "Request_UnsupportedQuery",
                             f"Unsupported or invalid query filter clause specified for property '{name.split('/')[0]}' "
                             f"of resource '{self.etype.resource}'.")
        if name not in self.etype.properties:
            raise GraphError(400, "BadRequest", f"Could not find a property named '{name}' on type '{self.etype.name}'.")
        if name not in allowed:
            raise GraphError(400, "Request_UnsupportedQuery",
                             f"Unsupported or invalid query filter clause specified for property '{name}' of resource "
                             f"'{self.etype.resource}'.")
        return name

    def literal(self):
        kind, value = self.take()
        if kind != "lit":
            raise _syntax(self.text, f"Expected a literal, found '{value}'")
        return value

    def function(self, name: str):
        self.take()
        if name == "endswith":
            self.advanced.append("endsWith")
        self.expect("(")
        allowed = self.etype.startswith if name == "startswith" else self.etype.endswith
        prop = self.prop(allowed)
        self.expect(",")
        value = self.literal()
        self.expect(")")
        if not isinstance(value, str):
            raise _syntax(self.text, f"The '{name}' function needs a string argument")
        needle = value.lower()
        if name == "startswith":
            return lambda o: isinstance(o.get(prop), str) and o[prop].lower().startswith(needle)
        return lambda o: isinstance(o.get(prop), str) and o[prop].lower().endswith(needle)

    def comparison(self):
        prop = self.prop(self.etype.eq)
        kind, op = self.take()
        op = op.lower() if kind == "word" else op
        if op == "in":
            self.expect("(")
            values = [_norm(self.literal())]
            while self.peek() == ",":
                self.take()
                values.append(_norm(self.literal()))
            self.expect(")")
            return lambda o: _norm(o.get(prop)) in values
        if op not in ("eq", "ne"):
            raise GraphError(400, "Request_UnsupportedQuery",
                             f"Unsupported or invalid query filter clause specified for property '{prop}' of resource "
                             f"'{self.etype.resource}'.")
        value = _norm(self.literal())
        if op == "ne":
            self.advanced.append("ne")
            return lambda o: _norm(o.get(prop)) != value
        return lambda o: _norm(o.get(prop)) == value


def compile_filter(text: str, etype: EntityType, advanced_ok: bool) -> Callable[[dict], bool]:
    """A predicate for ``$filter=text`` on ``etype`` objects, or the GraphError Graph answers."""
    parser = _Parser(text, etype)
    pred = parser.parse()
    if parser.advanced and not advanced_ok:
        raise GraphError(400, "Request_UnsupportedQuery", f"Operator '{parser.advanced[0]}' {ADVANCED_HINT}")
    return pred
