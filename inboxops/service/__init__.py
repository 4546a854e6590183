"""Service: the daemon and what keeps time around it (scheduler, systemd, health,
status, digest, SLA), and the pipeline that drives a message through the stages."""
