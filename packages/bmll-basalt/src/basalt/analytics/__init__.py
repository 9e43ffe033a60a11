"""Kernel analytics."""
