"""The one error the tariff engine raises for bad input: it names the field at fault."""

from __future__ import annotations


class TariffError(ValueError):
    """Bad tariff, trace or CDR input; ``str(err)`` is ``"<path>: <what is wrong>"``.

    The path (``elements[1].price_components[0].step_size``) lets a user find the field at
    once, in the API and in the CLI's one-line message alike.
    """

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}" if path else problem)
