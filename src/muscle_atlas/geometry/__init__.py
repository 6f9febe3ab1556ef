"""Surfaces and measurements, in world millimetres (RAS+)."""
