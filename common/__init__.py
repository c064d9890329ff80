"""What every layer uses and that is not configuration: child processes, CPU priority, restart
decisions, times and durations."""
