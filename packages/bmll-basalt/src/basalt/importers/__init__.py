"""Importers turning other market-data formats into a BMLL-shaped lake."""
