"""Outbound: mail goes out. Approval of drafts (CLI and the assistant's mail
client), the outbox and its delivery state machine, transports, bookings."""
