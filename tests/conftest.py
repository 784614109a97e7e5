import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Nominal reference folders go to a per-session temporary cache, not the user's."""
    monkeypatch.setenv("MIRI_TESTBED_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
