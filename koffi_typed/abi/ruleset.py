"""`Ruleset`: one ABI's data model, name, and argument classification."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from koffi_typed.datamodel import MODELS, DataModel
from koffi_typed.typesystem import Type

if TYPE_CHECKING:
    from koffi_typed.abi.plan import CallPlan, Signature

__all__ = ["Classifier", "Ruleset", "ruleset"]

#: ``classifier(signature, ruleset, variadic_types) -> CallPlan``
Classifier = Callable[["Signature", "Ruleset", Sequence[Type]], "CallPlan"]


@dataclass(frozen=True)
class Ruleset:
    """An ABI: its name, its C data model, a one-line description and its classifier."""

    name: str
    model: DataModel
    description: str
    classifier: Classifier | None = None

    def __repr__(self) -> str:
        return f"<Ruleset {self.name}: {self.description}>"

    def classify(self, info: Signature, variadic_types: Sequence[Type] = ()) -> CallPlan:
        """Where the result and every argument of ``info`` go under this ABI.

        ``variadic_types`` are the (already promoted) types of the variadic arguments of
        one call; their placements follow the declared ones in ``CallPlan.arguments``.
        Types are host `Type` s; they are laid out for this ruleset first.
        """
        if self.classifier is None:
            raise NotImplementedError(f"ABI {self.name} has no classifier")
        return self.classifier(info, self, tuple(variadic_types))


def ruleset(name: str, description: str, classifier: Classifier | None = None) -> Ruleset:
    """The ruleset ``name`` with the data model of the same name."""
    return Ruleset(name, MODELS[name], description, classifier)
