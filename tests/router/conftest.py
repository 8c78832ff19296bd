"""The email channel's real-Dovecot and SMTP-sink fixtures, for the email end-to-end test."""
from tests.email.conftest import dovecot_server, mail_user, smtp_sink  # noqa: F401
