"""A Python pipeline file: USER_CONFIG plus a get_universe(date) of your own."""

import polars as pl

USER_CONFIG = {
    "START_DATE": "2024-03-04",
    "END_DATE": "2024-03-04",
    "TIME_BUCKET_SECONDS": 300,
    "PASSES": [{"name": "pass1", "modules": ["trade"]}],
}


def get_universe(date: str) -> pl.DataFrame:
    """The listings to process on ``date`` (ISO format)."""
    return pl.DataFrame({"ListingId": [1000001, 1000002], "MIC": ["XLON", "XLON"]})
