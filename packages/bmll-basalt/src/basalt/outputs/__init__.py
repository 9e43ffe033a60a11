"""Output targets."""
