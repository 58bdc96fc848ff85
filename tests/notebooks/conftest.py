import pytest
@pytest.fixture(scope="session")
def account():
    """DEV ONLY: the account is already built in this engine."""
    return {}
