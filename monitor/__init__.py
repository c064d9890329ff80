"""The Rich terminal monitor: a read-only view of a running topology (`python -m supervisor monitor`)."""
