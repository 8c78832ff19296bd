"""The portal fixture (a hub with the public portal on a loopback test server) for the Open311
tests that read what the public pages publish."""
from tests.portal.conftest import portal  # noqa: F401  (a pytest fixture, found here by name)
