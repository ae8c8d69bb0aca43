"""Each covariance structure the vocabulary names is made by the class of that name, and every
concrete structure class is one the vocabulary names."""

from __future__ import annotations

import inspect

import pytest

from trialkit.models.covariance import CovarianceStructure, make_structure
from trialkit.vocabulary import COVARIANCE_STRUCTURES


@pytest.mark.parametrize("name", COVARIANCE_STRUCTURES)
def test_make_structure_gives_the_class_of_the_name(name: str) -> None:
    assert make_structure(name, 3).name == name


def _concrete(cls: type[CovarianceStructure]) -> list[type[CovarianceStructure]]:
    subclasses = [c for sub in cls.__subclasses__() for c in [sub, *_concrete(sub)]]
    return [c for c in subclasses if not inspect.isabstract(c)]


def test_every_structure_class_is_in_the_vocabulary() -> None:
    names = sorted(c.name for c in _concrete(CovarianceStructure))
    assert names == sorted(COVARIANCE_STRUCTURES)
