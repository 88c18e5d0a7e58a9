"""`Ruleset`: one ABI's data model and name (argument classification arrives later)."""

from __future__ import annotations

from dataclasses import dataclass

from koffi_typed.datamodel import MODELS, DataModel

__all__ = ["Ruleset", "ruleset"]


@dataclass(frozen=True)
class Ruleset:
    """An ABI: its name, its C data model and a one-line description."""

    name: str
    model: DataModel
    description: str

    def __repr__(self) -> str:
        return f"<Ruleset {self.name}: {self.description}>"


def ruleset(name: str, description: str) -> Ruleset:
    """The ruleset ``name`` with the data model of the same name."""
    return Ruleset(name, MODELS[name], description)
