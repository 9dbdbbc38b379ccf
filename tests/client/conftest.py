from tests.runtime.conftest import runtime

__all__ = ["runtime"]
