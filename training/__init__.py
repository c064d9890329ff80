"""The training loop: iterations of replay over a training window, validation, a walk-forward test."""
