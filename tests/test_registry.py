"""``Registry.scoped``: registrations made inside the block are undone at its end."""

from __future__ import annotations

import pytest

from droiz.exceptions import UnknownNameError
from droiz.registry import Registry


def test_a_scoped_block_undoes_its_registrations_and_keeps_the_earlier_ones() -> None:
    reg: Registry[int] = Registry("number")
    reg.add("one", 1)
    with reg.scoped() as inner:
        inner.add("two", 2)
        assert reg.get("two") == 2 and reg.names() == ["one", "two"]
    assert reg.names() == ["one"] and reg.get("one") == 1
    with pytest.raises(UnknownNameError, match="unknown number 'two'"):
        reg.get("two")
    reg.add("two", 22)  # the name is free again
    assert reg.get("two") == 22


def test_a_scoped_block_restores_the_registry_after_an_error() -> None:
    reg: Registry[int] = Registry("number")
    reg.add("one", 1)
    with pytest.raises(RuntimeError, match="boom"), reg.scoped():
        reg.add("two", 2)
        raise RuntimeError("boom")
    assert reg.names() == ["one"]
