"""Test alias: the fake API lives in hub.demo.fakeapi (the demo uses it too)."""
from hub.demo.fakeapi import Call, FakeAPI

__all__ = ["Call", "FakeAPI"]
