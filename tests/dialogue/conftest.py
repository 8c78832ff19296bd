"""The email channel's real-Dovecot and SMTP-sink fixtures, for the mail dialogue tests."""
from tests.email.conftest import dovecot_server, mail_user, smtp_sink  # noqa: F401
