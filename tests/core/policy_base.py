"""What the policy matrix is made of: the personas, a line of the matrix (``Case``), and the
domain tables under ``tests/core/policy_cases/``.

Each domain keeps its lines in its own module there (``identity.py``, ``datahub.py``...),
which may define:

- ``API_CASES: list[Case]`` and ``ROLE_PAGES: list[Case]`` — as in the main matrix;
- ``PAGE_ROUTES: dict[(method, path), kind]`` — plain GET pages: ``page`` (any logged-in
  persona; anonymous to /login) or ``public``; forms and restricted pages go in ROLE_PAGES;
- ``OTHER_ROUTES: dict[(method, path), str]`` — routes whose policy is tested in the
  domain's own tests (a protocol with its own authentication: TAXII, OAuth2...), with the
  test that covers them (a reason starting with ``public`` for a route open to anonymous);
- ``COUNTED: tuple[model, ...]`` — tables a refusal must leave unchanged;
- ``placeholders(targets, name) -> dict[str, Callable[[], object]]`` — the placeholders its
  labels and bodies use; ``targets.once(key, make)`` creates an object once per test,
  ``targets.principal(who)``, ``targets.personas`` and ``targets.db`` are at hand.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from functools import cache
from types import ModuleType
from typing import Any

from tests.factories import SPECS

PERSONAS = tuple(SPECS)  # citizen, doctor, ..., admin, outsider
ANONYMOUS = "anonymous"
EVERYONE = frozenset(PERSONAS)
REFUSED_ON_PAGE = 303  # a form refused on the page itself: back to it with ``erreur``
FORM_AGAIN = 422  # the form again with its error


@dataclass(frozen=True)
class Case:
    method: str
    route: str  # the path template as the app declares it
    label: str  # the concrete target shown in the test id; {X} resolved per test
    allowed: frozenset[str]
    denied: int = 403  # answer to a logged-in persona outside ``allowed``
    denied_for: dict[str, int] = field(default_factory=dict)  # per-persona exceptions
    public: bool = False  # anonymous allowed too
    body: dict[str, Any] | None = None
    ok: tuple[int, ...] = (200,)
    extra: dict[str, Any] = field(default_factory=dict)  # files: a multipart upload

    def refusal(self, name: str) -> int:
        return self.denied_for.get(name, self.denied)

    @property
    def target(self) -> str:
        """The path called: the label without its trailing comment, e.g. ``(A)``."""
        return self.label.split(" (")[0]


def _c(method: str, route: str, allowed: frozenset[str], *, label: str | None = None,
       **kw: Any) -> Case:
    """An API line."""
    return Case(method, route, label or route, allowed, **kw)


def _p(method: str, route: str, allowed: frozenset[str], *, label: str | None = None,
       **kw: Any) -> Case:
    """A role-restricted page line: a POST form answers 303 when allowed."""
    if method == "POST":
        kw.setdefault("ok", (303,))
    return _c(method, route, allowed, label=label, **kw)


@cache
def domain_modules() -> tuple[ModuleType, ...]:
    import tests.core.policy_cases as package

    return tuple(importlib.import_module(f"{package.__name__}.{info.name}")
                 for info in sorted(pkgutil.iter_modules(package.__path__),
                                    key=lambda i: i.name))


def domain_table(attribute: str) -> list[Any]:
    """The lines every domain module adds to one table (a list, or a dict's items)."""
    out: list[Any] = []
    for module in domain_modules():
        value = getattr(module, attribute, None)
        if isinstance(value, dict):
            out.extend(value.items())
        elif value:
            out.extend(value)
    return out
