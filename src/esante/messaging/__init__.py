"""Secure health messaging (MSSanté rules): mailboxes, messages, directory, SMTP gateway."""
