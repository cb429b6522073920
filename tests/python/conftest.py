import pathlib

import pytest

VECTORS = pathlib.Path(__file__).resolve().parents[2] / ".." / "shared" / "vectors"


@pytest.fixture
def vectors() -> pathlib.Path:
    assert VECTORS.is_dir(), f"{VECTORS} is missing"
    return VECTORS
