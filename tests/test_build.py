"""Checks that the installed package is the build CI asked for (compiled or pure)."""

import os

import koffi_typed


def test_compiled_flag_matches_expected_build() -> None:
    expected = os.environ.get("KOFFI_TYPED_EXPECT_COMPILED")
    if expected is None:
        assert isinstance(koffi_typed.compiled, bool)
    else:
        assert expected in ("0", "1"), f"KOFFI_TYPED_EXPECT_COMPILED={expected!r}"
        assert koffi_typed.compiled is (expected == "1"), (
            f"koffi_typed.compiled={koffi_typed.compiled} imported from {koffi_typed.__file__}"
        )
