"""Every TOML example in the manual parses, and every scenario example is a suite the testbed accepts."""
import re
import tomllib
from pathlib import Path

import pytest

from miri_testbed.validation.scenarios import parse_suite

ROOT = Path(__file__).resolve().parents[1]
BLOCKS = [(path.relative_to(ROOT), n, block)
          for path in sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
          for n, block in enumerate(re.findall(r"```toml\n(.*?)```", path.read_text(), re.S))]


def test_the_manual_has_toml_examples():
    assert BLOCKS


@pytest.mark.parametrize("where, n, block", BLOCKS, ids=[f"{w}#{n}" for w, n, _ in BLOCKS])
def test_a_toml_example_is_valid(where, n, block):
    data = tomllib.loads(block)
    if isinstance(data.get("scenario"), list):  # whole [[scenario]] tables, not a fragment
        parse_suite(block, source=f"{where} example {n}")
