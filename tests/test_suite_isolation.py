"""The test suite itself: it never writes into the user's droiz cache."""

from __future__ import annotations

from pathlib import Path

import platformdirs

from droiz.llm import default_cache_dir


def test_tests_use_a_cache_folder_of_their_own(tmp_path_factory) -> None:
    # Outside tests/{bench,llm,runner}, only the session fixture of tests/conftest.py sets it.
    here = default_cache_dir()
    assert here != Path(platformdirs.user_cache_dir("droiz"))
    assert here.is_relative_to(tmp_path_factory.getbasetemp())
