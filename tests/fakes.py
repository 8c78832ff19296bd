"""Test alias: the fake API lives in hub.fakeapi (the demo uses it too)."""
from hub.fakeapi import Call, FakeAPI

__all__ = ["Call", "FakeAPI"]
