"""The trade analytic against hand-computed values, plus invariants on random trades."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from basalt.analytics.trade import TradeAnalytic
from basalt.analytics.trade.retail import RetailImbalanceAnalytic
from basalt.testing import AnalyticContract, run_analytic, trades_frame

T = dt.datetime(2024, 3, 4, 10, 0)
ASK, BID, UNKNOWN = 1, 2, 0


def trade(
    seconds: float, side: int, size: float, price: float, **extra: object
) -> dict[str, object]:
    return {
        "ListingId": 7,
        "TradeTimestamp": T + dt.timedelta(seconds=seconds),
        "AggressorSide": side,
        "Size": size,
        "Price": price,
        "TradeNotional": size * price,
        "TradeNotionalEUR": size * price / 2,
        **extra,
    }


# Rows deliberately out of time order: OHLC must follow timestamps, not row order.
ROWS = [
    trade(60, ASK, 150, 9.9),  # exactly on the 10:01 edge: closes the 10:01 bucket
    trade(10, ASK, 100, 10.0),
    trade(30, BID, 50, 10.2, BMLLParticipantType="RETAIL"),
    trade(20, ASK, 1000, 11.0, Classification="OFF_BOOK_ON_EXCHANGE"),
    trade(60.5, UNKNOWN, 10, 10.1),
]
ALL = {"sides": ["Bid", "Ask", "Unknown", "Total"], "measures": ["Volume", "Count", "VWAP", "OHLC"]}


def compute(config: dict[str, object], rows: list[dict[str, object]] = ROWS) -> pl.DataFrame:
    return run_analytic(TradeAnalytic, {"trades": trades_frame(rows)}, config)


def bucket(frame: pl.DataFrame, minute: int) -> dict[str, object]:
    rows = frame.filter(pl.col("TimeBucket") == T + dt.timedelta(minutes=minute)).to_dicts()
    assert len(rows) == 1
    return rows[0]


def test_totals_of_the_first_bucket() -> None:
    config = {
        "generic_metrics": [
            {
                "measures": [
                    "Volume",
                    "Count",
                    "Notional",
                    "NotionalEUR",
                    "VWAP",
                    "OHLC",
                    "AvgPrice",
                    "MedianPrice",
                ]
            }
        ]
    }
    row = bucket(compute(config), 1)
    assert row["TradeTotalVolume"] == 300
    assert row["TradeTotalCount"] == 3
    # Sums are exact to 1e-9 (10.2 · 50 is 509.99999999999994 in binary floating point).
    assert row["TradeTotalNotional"] == 1000 + 510 + 1485
    assert row["TradeTotalNotionalEUR"] == 2995 / 2
    assert row["TradeTotalVWAP"] == 2995 / 300
    assert (
        row["TradeTotalOpen"],
        row["TradeTotalHigh"],
        row["TradeTotalLow"],
        row["TradeTotalClose"],
    ) == (10.0, 10.2, 9.9, 9.9)
    assert row["TradeTotalAvgPrice"] == pytest.approx((10.0 + 10.2 + 9.9) / 3)
    assert row["TradeTotalMedianPrice"] == 10.0


def unpriced(seconds: float, side: int, size: float, **extra: object) -> dict[str, object]:
    """A trade print without a price: no Price, TradeNotional or EUR notional."""
    return trade(seconds, side, size, 0.0, Price=None, TradeNotional=None, **extra) | {
        "TradeNotionalEUR": None
    }


# Three priced trades (10:00:10 Ask 100 @ 10, :20 Bid 50 @ 12, :40 Ask 50 @ 11) between
# unpriced ones, first and last of the bucket among them.
PRICED_AND_UNPRICED = [
    unpriced(5, BID, 30),
    trade(10, ASK, 100, 10.0),
    trade(20, BID, 50, 12.0),
    unpriced(30, ASK, 1000),
    trade(40, ASK, 50, 11.0),
    unpriced(50, UNKNOWN, 40),
]


def test_unpriced_trades_count_in_volume_and_count_and_in_no_price_measure() -> None:
    measures = [
        "Volume",
        "Count",
        "UnpricedVolume",
        "Notional",
        "VWAP",
        "OHLC",
        "AvgPrice",
        "MedianPrice",
        "Volatility",
    ]
    config = {"generic_metrics": [{"sides": ["Ask", "Total"], "measures": measures}]}
    row = bucket(compute(config, PRICED_AND_UNPRICED), 1)
    assert (row["TradeTotalVolume"], row["TradeTotalCount"]) == (1270, 6)
    assert row["TradeTotalUnpricedVolume"] == 1070
    assert row["TradeTotalNotional"] == 1000 + 600 + 550
    assert row["TradeTotalVWAP"] == pytest.approx(2150 / 200, rel=1e-12)
    ohlc = [row[f"TradeTotal{part}"] for part in ("Open", "High", "Low", "Close")]
    assert ohlc == [10.0, 12.0, 10.0, 11.0]
    assert row["TradeTotalAvgPrice"] == pytest.approx(11.0, rel=1e-12)
    assert row["TradeTotalMedianPrice"] == 11.0
    returns = [math.log(12 / 10), math.log(11 / 12)]
    std = abs(returns[0] - returns[1]) / math.sqrt(2)  # ddof 1 over two returns
    assert row["TradeTotalVolatility"] == pytest.approx(std * math.sqrt(2 * 252 * 86400 / 60))
    assert (row["TradeAskVolume"], row["TradeAskCount"], row["TradeAskUnpricedVolume"]) == (
        1150,
        3,
        1000,
    )
    assert row["TradeAskVWAP"] == pytest.approx(1550 / 150, rel=1e-12)
    assert (row["TradeAskOpen"], row["TradeAskClose"]) == (10.0, 11.0)


def test_a_bucket_of_unpriced_trades_has_volume_and_no_prices() -> None:
    rows = [unpriced(5, ASK, 30), unpriced(10, BID, 20)]
    config = {"generic_metrics": [{"measures": ["Volume", "UnpricedVolume", "VWAP", "OHLC"]}]}
    row = bucket(compute(config, rows), 1)
    assert (row["TradeTotalVolume"], row["TradeTotalUnpricedVolume"]) == (50, 50)
    assert [row[f"TradeTotal{p}"] for p in ("VWAP", "Open", "High", "Low", "Close")] == [None] * 5


def test_per_trade_price_metrics_leave_unpriced_trades_out() -> None:
    rows = [
        quoted(10, ASK, 10.02, PostTradeMid1000ms=10.01),
        {**quoted(20, ASK, 10.0, PostTradeMid1000ms=10.03), "Price": None, "TradeNotional": None},
    ]
    config = {
        "discrepancy_metrics": [{"references": "PreTradeMid", "aggregations": ["Mean", "VWA"]}],
        "impact_metrics": [{"variant": ["EffectiveSpread", "RealizedSpread"]}],
    }
    row = bucket(compute(config, rows), 1)
    assert row["DiscrepancyToPreTradeMid"] == pytest.approx(20.0, rel=1e-9)
    assert row["DiscrepancyToPreTradeMidVWA"] == pytest.approx(20.0, rel=1e-9)
    assert row["EffectiveSpread1s"] == pytest.approx(2 * 0.02, rel=1e-9)
    assert row["RealizedSpread1s"] == pytest.approx(2 * 0.01, rel=1e-9)


def test_sides_follow_the_aggressor() -> None:
    frame = compute({"generic_metrics": [ALL]})
    first = bucket(frame, 1)
    assert first["TradeAskVolume"] == 250 and first["TradeAskCount"] == 2
    assert first["TradeAskVWAP"] == pytest.approx((1000 + 1485) / 250)
    assert first["TradeBidVolume"] == 50 and first["TradeBidVWAP"] == pytest.approx(10.2)
    assert first["TradeUnknownVolume"] == 0 and first["TradeUnknownVWAP"] is None
    assert (first["TradeAskOpen"], first["TradeAskClose"]) == (10.0, 9.9)
    second = bucket(frame, 2)
    assert second["TradeUnknownVolume"] == 10 and second["TradeTotalVolume"] == 10
    assert second["TradeBidCount"] == 0 and second["TradeBidOpen"] is None


def test_only_lit_continuous_by_default_and_all_with_null() -> None:
    config: dict[str, object] = {"generic_metrics": [{"measures": ["Volume"]}]}
    assert bucket(compute(config), 1)["TradeTotalVolume"] == 300
    assert bucket(compute({**config, "classifications": None}), 1)["TradeTotalVolume"] == 1300


def test_attribute_filters_prefix_and_pattern() -> None:
    config = {
        "metric_prefix": "R_",
        "generic_metrics": [
            {
                "measures": ["Volume", "Count"],
                "attribute_filters": {"BMLLParticipantType": ["RETAIL"]},
                "output_name_pattern": "Retail{side}{measure}",
            }
        ],
    }
    frame = compute(config)
    assert frame.columns == ["ListingId", "TimeBucket", "R_RetailTotalVolume", "R_RetailTotalCount"]
    assert bucket(frame, 1)["R_RetailTotalVolume"] == 50
    assert bucket(frame, 2)["R_RetailTotalCount"] == 0


def test_one_row_per_listing_and_bucket() -> None:
    other = [{**row, "ListingId": 8} for row in ROWS]
    frame = compute({"generic_metrics": [{"measures": ["Volume"]}]}, ROWS + other)
    assert frame.select("ListingId", "TimeBucket").is_duplicated().sum() == 0
    assert frame.group_by("ListingId").agg(pl.col("TradeTotalVolume").sum()).sort(
        "ListingId"
    ).rows() == [(7, 310.0), (8, 310.0)]


trades_strategy = st.lists(
    st.tuples(
        st.integers(0, 600),  # seconds after 10:00
        st.sampled_from([ASK, BID, UNKNOWN]),
        st.integers(1, 10_000),
        st.one_of(st.none(), st.integers(9_000, 11_000)),  # price in cents, or none
        st.sampled_from([7, 8]),
    ),
    min_size=1,
    max_size=60,
)


@settings(max_examples=60, deadline=None)
@given(trades_strategy)
def test_invariants(data: list[tuple[int, int, int, int | None, int]]) -> None:
    rows = [
        {
            **(unpriced(s, side, size) if cents is None else trade(s, side, size, cents / 100)),
            "ListingId": listing,
        }
        for s, side, size, cents, listing in data
    ]
    config = {
        "generic_metrics": [{**ALL, "measures": [*ALL["measures"], "Notional", "UnpricedVolume"]}]
    }
    frame = compute(config, rows)
    total_input = sum(size for _, _, size, _, _ in data)
    assert frame["TradeTotalVolume"].sum() == total_input
    assert frame["TradeTotalCount"].sum() == len(data)
    unpriced_input = sum(size for _, _, size, cents, _ in data if cents is None)
    assert frame["TradeTotalUnpricedVolume"].sum() == unpriced_input
    sides = frame["TradeBidVolume"] + frame["TradeAskVolume"] + frame["TradeUnknownVolume"]
    assert (sides == frame["TradeTotalVolume"]).all()
    assert (frame["TradeBidVolume"] + frame["TradeAskVolume"] <= frame["TradeTotalVolume"]).all()
    # VWAP x the priced volume gives back the notional of the priced trades.
    priced = frame["TradeTotalVolume"] - frame["TradeTotalUnpricedVolume"]
    valued = (frame["TradeTotalVWAP"] * priced).fill_null(0.0)
    np.testing.assert_allclose(valued, frame["TradeTotalNotional"].fill_null(0.0), rtol=1e-12)
    eps = 1e-9
    assert (frame["TradeTotalVWAP"] >= frame["TradeTotalLow"] - eps).all()
    assert (frame["TradeTotalVWAP"] <= frame["TradeTotalHigh"] + eps).all()
    assert (
        frame["TradeTotalOpen"].is_between(frame["TradeTotalLow"], frame["TradeTotalHigh"])
    ).all()


def test_notional_is_null_when_unknown_and_zero_without_trades() -> None:
    rows = [{**row, "TradeNotionalEUR": None} for row in ROWS]
    config = {"generic_metrics": [{"sides": ["Bid", "Total"], "measures": ["NotionalEUR"]}]}
    second = bucket(compute(config, rows), 2)
    assert second["TradeTotalNotionalEUR"] is None  # a trade, but no EUR notional known
    assert second["TradeBidNotionalEUR"] == 0.0  # no seller-initiated trade at all


def test_sums_do_not_depend_on_the_order_of_addition() -> None:
    n = 20_000
    rows = [
        trade(
            i % 3600,
            (ASK, BID, UNKNOWN)[i % 3],
            1 + (i * 7919) % 997,
            10 + ((i * 104729) % 1000) / 1000,
        )
        | {"ListingId": i % 5}
        for i in range(n)
    ]
    config = {
        "generic_metrics": [
            {"sides": ["Bid", "Total"], "measures": ["Notional", "VWAP", "AvgPrice"]}
        ]
    }
    first = compute(config, rows)
    assert all(compute(config, rows[::-1]).equals(first) for _ in range(3))


def test_sums_keep_nine_decimals() -> None:
    """Fixed-point sums are exact to the ninth decimal: the fifth to ninth ones count."""
    rows = [
        trade(s, ASK, 1, 0.0, TradeNotional=1.000000007, TradeNotionalEUR=0.123456789)
        for s in (10, 20, 30)
    ]
    rows.append(trade(40, BID, 2, 0.0, TradeNotional=0.00001234, TradeNotionalEUR=0.00004321))
    measures = ["Notional", "NotionalEUR", "VWAP", "AvgPrice"]
    config = {"generic_metrics": [{"sides": ["Ask", "Total"], "measures": measures}]}
    row = bucket(compute(config, rows), 1)
    assert row["TradeAskNotional"] == 3.000000021
    assert row["TradeAskNotionalEUR"] == 0.370370367
    assert row["TradeTotalNotional"] == 3.000012361
    assert row["TradeTotalNotionalEUR"] == 0.370413577
    assert row["TradeAskVWAP"] == pytest.approx(1.000000007, rel=1e-12, abs=0)
    assert row["TradeTotalVWAP"] == pytest.approx(3.000012361 / 5, rel=1e-12, abs=0)
    average = (3 * 1.000000007 + 0.00000617) / 4
    assert row["TradeTotalAvgPrice"] == pytest.approx(average, rel=1e-12, abs=0)


@pytest.mark.parametrize("first", [BID, ASK])
def test_open_and_close_of_simultaneous_trades_follow_row_order(first: int) -> None:
    second = ASK if first == BID else BID
    rows = [trade(5, first, 10, 10.0), trade(5, second, 10, 11.0)]
    config = {"generic_metrics": [{"sides": ["Total"], "measures": ["OHLC"]}]}
    row = bucket(compute(config, rows), 1)
    assert (row["TradeTotalOpen"], row["TradeTotalClose"]) == (10.0, 11.0)


# -- measures over every trade of their kind, flags, volatility ---------------------------

KINDS = [
    trade(10, ASK, 100, 10.0, IsBlock="Y", BMLLParticipantType="RETAIL"),
    trade(20, BID, 40, 10.0, Classification="LIT_AUCTION"),
    trade(30, ASK, 60, 10.0, Classification="OFF_BOOK_ON_EXCHANGE", BMLLTradeType="OTC"),
    trade(40, BID, 5, 10.0, Classification="DARK", BMLLParticipantType="RETAIL", IsBlock="N"),
    trade(70, ASK, 7, 10.0, Classification="OFF_BOOK_ON_EXCHANGE", BMLLTradeType="OTC"),
]


def test_kind_measures_count_every_trade_of_their_kind() -> None:
    measures = ["Volume", "Count", "VWAP", "RetailCount", "BlockCount", "AuctionNotional"]
    config = {
        "generic_metrics": [{"sides": ["Total", "Ask"], "measures": [*measures, "OTCVolume"]}]
    }
    frame = compute(config, KINDS)
    first = bucket(frame, 1)
    assert (first["TradeTotalVolume"], first["TradeTotalCount"]) == (100, 1)  # lit only
    assert (first["TradeTotalRetailCount"], first["TradeAskRetailCount"]) == (2, 1)
    assert (first["TradeTotalBlockCount"], first["TradeAskBlockCount"]) == (1, 1)
    assert first["TradeTotalAuctionNotional"] == pytest.approx(40 * 10.0 / 2)
    assert first["TradeAskAuctionNotional"] == 0
    assert first["TradeTotalOTCVolume"] == 60 and first["TradeAskOTCVolume"] == 60
    # A bucket with off-book trades only: no lit volume, but OTC volume.
    second = bucket(frame, 2)
    assert (second["TradeTotalVolume"], second["TradeTotalCount"]) == (0, 0)
    assert second["TradeTotalVWAP"] is None and second["TradeTotalOTCVolume"] == 7


def test_volatility_of_log_returns_annualised() -> None:
    rows = [trade(5, ASK, 1, 10.0), trade(15, BID, 1, 11.0), trade(25, ASK, 1, 10.5)]
    rows += [trade(70, ASK, 1, 10.0)]  # a lone trade: no return
    config = {"generic_metrics": [{"sides": ["Total", "Ask"], "measures": "Volatility"}]}
    frame = compute(config, rows)
    returns = [math.log(11.0 / 10.0), math.log(10.5 / 11.0)]
    mean = sum(returns) / 2
    std = math.sqrt(sum((r - mean) ** 2 for r in returns))  # ddof 1 over two returns
    first = bucket(frame, 1)
    assert first["TradeTotalVolatility"] == pytest.approx(std * math.sqrt(2 * 252 * 86400 / 60))
    assert first["TradeAskVolatility"] is None  # one Ask return: 10.0 → 10.5
    assert bucket(frame, 2)["TradeTotalVolatility"] is None


def test_flag_metrics() -> None:
    rows = [
        trade(10, ASK, 100, 10.0, NegotiatedTrade="NLIQ", LotType="Odd Lot"),
        trade(20, BID, 50, 12.0, NegotiatedTrade="-", Classification="DARK"),
        trade(30, BID, 10, 11.0, NegotiatedTrade="PRIC", Classification="OFF_BOOK_ON_EXCHANGE"),
    ]
    config = {
        "flag_metrics": [
            {
                "flags": ["NegotiatedTrade", "OddLotTrade"],
                "measures": ["Volume", "Count", "AvgNotional"],
                "sides": ["Total", "Bid"],
            }
        ]
    }
    row = bucket(compute(config, rows), 1)
    assert (row["NegotiatedTradeVolume"], row["NegotiatedTradeCount"]) == (110, 2)
    assert row["NegotiatedTradeAvgNotional"] == pytest.approx((1000 + 110) / 2 / 2)
    assert (row["NegotiatedTradeVolumeBid"], row["NegotiatedTradeCountBid"]) == (10, 1)
    assert (row["OddLotTradeCount"], row["OddLotTradeCountBid"]) == (1, 0)
    assert row["OddLotTradeAvgNotionalBid"] is None


def test_flag_average_notional_is_over_the_flagged_trades_with_a_notional() -> None:
    rows = [
        trade(10, ASK, 100, 10.0, NegotiatedTrade="NLIQ"),
        unpriced(20, ASK, 300, NegotiatedTrade="NLIQ"),
    ]
    config = {
        "flag_metrics": [
            {"flags": "NegotiatedTrade", "measures": ["Volume", "Count", "AvgNotional"]}
        ]
    }
    row = bucket(compute(config, rows), 1)
    assert (row["NegotiatedTradeVolume"], row["NegotiatedTradeCount"]) == (400, 2)
    assert row["NegotiatedTradeAvgNotional"] == 1000 / 2


# -- per-trade families: discrepancy, change, impact ---------------------------------------


def quoted(seconds: float, side: int, price: float, **extra: object) -> dict[str, object]:
    return trade(seconds, side, 10, price, PreTradeMid1ms=10.0, **extra)


def test_discrepancy_to_reference_prices_in_bps() -> None:
    rows = [
        quoted(10, ASK, 10.02, BestBidPrice=9.99, BestAskPrice=10.01),
        quoted(20, BID, 9.97, BestBidPrice=9.97, BestAskPrice=9.99),
        {**quoted(30, ASK, 10.04), "Size": 30, "TradeNotional": 301.2},
    ]
    config = {
        "discrepancy_metrics": [
            {
                "references": "PreTradeMid",
                "sides": ["Total", "Ask"],
                "aggregations": ["Mean", "Max", "VWA"],
            },
            {"references": ["MidPrice", "BestBid"]},
        ]
    }
    row = bucket(compute(config, rows), 1)
    bps = [20.0, -30.0, 40.0]
    assert row["DiscrepancyToPreTradeMid"] == pytest.approx(sum(bps) / 3)
    assert row["DiscrepancyToPreTradeMidMax"] == pytest.approx(40.0)
    assert row["DiscrepancyToPreTradeMidVWA"] == pytest.approx((200 - 300 + 1200) / 50)
    assert row["DiscrepancyToPreTradeMidAsk"] == pytest.approx(30.0)
    assert row["DiscrepancyToPreTradeMidAskMax"] == pytest.approx(40.0)
    # The third trade has no best prices: it does not count against them.
    assert row["DiscrepancyToMidPrice"] == pytest.approx((20.0 + (9.97 - 9.98) / 9.98 * 1e4) / 2)
    assert row["DiscrepancyToBestBid"] == pytest.approx(((10.02 - 9.99) / 9.99 * 1e4 + 0) / 2)


def test_change_measures_and_their_scopes() -> None:
    rows = [
        trade(10, ASK, 1, 10.0, PricePoint=1.0, PricePointAtVenue=0.5, PreTradeElapsedTimeChg=4),
        trade(20, BID, 1, 10.0, PricePoint=0.0, PricePointAtVenue=0.0, PreTradeElapsedTimeChg=8),
    ]
    config = {
        "change_metrics": [
            {"measures": "PricePoint", "scopes": ["Local", "Venue"]},
            {"measures": "PreTradeElapsedTimeChg"},
        ]
    }
    row = bucket(compute(config, rows), 1)
    assert (row["PricePoint"], row["PricePointAtVenue"]) == (0.5, 0.25)
    assert row["PreTradeElapsedTimeChg"] == 6.0
    with pytest.raises(ValueError, match="scope Venue exists for PricePoint only"):
        compute({"change_metrics": [{"measures": "PostTradeElapsedTimeChg", "scopes": "Venue"}]})


def test_impact_uses_the_post_trade_mid_at_the_horizon() -> None:
    rows = [
        quoted(
            10, ASK, 10.02, PostTradeMid=10.0, PostTradeMid5000ms=10.03, PostTradeMid1000ms=10.01
        ),
        quoted(20, BID, 9.99, PostTradeMid=10.0, PostTradeMid5000ms=9.97, PostTradeMid1000ms=9.98),
        quoted(30, UNKNOWN, 10.0, PostTradeMid5000ms=12.0, PostTradeMid1000ms=12.0),
    ]
    config = {
        "impact_metrics": [
            {
                "variant": ["EffectiveSpread", "RealizedSpread", "PriceImpact"],
                "horizon": ["5s", "1000ms"],
            }
        ]
    }
    row = bucket(compute(config, rows), 1)
    assert row["EffectiveSpread5s"] == pytest.approx((0.04 + 0.02 + 0.0) / 3)
    assert row["RealizedSpread5s"] == pytest.approx((2 * (10.02 - 10.03) - 2 * (9.99 - 9.97)) / 2)
    assert row["PriceImpact5s"] == pytest.approx((2 * 0.03 - 2 * (9.97 - 10.0)) / 2)
    assert row["PriceImpact1s"] == pytest.approx((2 * 0.01 - 2 * (9.98 - 10.0)) / 2)
    with pytest.raises(ValueError, match="BMLL has post-trade mids at 1ms, 2ms"):
        compute({"impact_metrics": [{"variant": "PriceImpact", "horizon": "3s"}]})
    with pytest.raises(ValueError, match=r"'Mid' is neither a reference .* nor a trades-plus"):
        compute({"impact_metrics": [{"variant": "PriceImpact", "reference_price_col": "Mid"}]})
    custom = {"variant": "EffectiveSpread", "reference_price_col": "BestBidPrice"}
    row = bucket(compute({"impact_metrics": [custom]}, [{**rows[0], "BestBidPrice": 10.0}]), 1)
    assert row["EffectiveSpread1s"] == pytest.approx(2 * 0.02)


def test_market_states_filter_and_column_order() -> None:
    rows = [trade(10, ASK, 5, 10.0, MarketState="CONTINUOUS_TRADING")]
    rows += [trade(20, ASK, 7, 10.0, MarketState="CLOSING_AUCTION")]
    config = {
        "market_states": ["CLOSING_AUCTION"],
        "discrepancy_metrics": [{"references": "BestBid"}],
        "generic_metrics": [{"measures": ["Volume", "Volatility", "Count"]}],
    }
    frame = compute(config, rows)
    assert frame.columns == [
        "ListingId",
        "TimeBucket",
        "TradeTotalVolume",
        "TradeTotalCount",
        "TradeTotalVolatility",
        "DiscrepancyToBestBid",
    ]
    assert bucket(frame, 1)["TradeTotalVolume"] == 7


# -- retail_imbalance ----------------------------------------------------------------------


def test_retail_imbalance_over_retail_trades_of_known_side() -> None:
    rows = [
        trade(10, ASK, 100, 10.0, BMLLParticipantType="RETAIL", Classification="DARK"),
        trade(20, BID, 20, 10.0, BMLLParticipantType="RETAIL"),
        trade(30, UNKNOWN, 500, 10.0, BMLLParticipantType="RETAIL"),
        trade(40, BID, 900, 10.0),  # not retail
        trade(70, UNKNOWN, 5, 10.0, BMLLParticipantType="RETAIL"),
    ]
    frame = run_analytic(RetailImbalanceAnalytic, {"trades": trades_frame(rows)})
    assert bucket(frame, 1)["RetailTradeImbalance"] == pytest.approx((500 - 100) / 600)
    assert bucket(frame, 2)["RetailTradeImbalance"] is None


class TestRetailImbalanceContract(AnalyticContract):
    analytic = RetailImbalanceAnalytic
    tables = {"trades": trades_frame([trade(10, ASK, 1, 10.0, BMLLParticipantType="RETAIL")])}
    expected_columns = ["RetailTradeImbalance"]


class TestTradeFamiliesContract(AnalyticContract):
    analytic = TradeAnalytic
    tables = {"trades": trades_frame([quoted(10, ASK, 10.02, PostTradeMid1000ms=10.01)])}
    config = {
        "metric_prefix": "T_",
        "generic_metrics": [
            {"sides": ["Ask", "Total"], "measures": ["Volume", "OTCVolume", "Volatility"]}
        ],
        "flag_metrics": [{"flags": "BlockTrade", "measures": "Count"}],
        "discrepancy_metrics": [
            {"references": ["EBBO", "PreTradeMid"], "aggregations": ["Mean", "Std"]}
        ],
        "change_metrics": [{"measures": ["PricePoint"], "scopes": ["Local", "Primary"]}],
        "impact_metrics": [{"variant": "PriceImpact"}],
    }


def test_change_and_impact_names_follow_their_patterns() -> None:
    rows = [quoted(10, ASK, 10.02, PricePoint=1.0, PostTradeMid1000ms=10.01)]
    config = {
        "change_metrics": [{"measures": "PricePoint", "output_name_pattern": "PP{scope}"}],
        "impact_metrics": [
            {"variant": "PriceImpact", "output_name_pattern": "{variant}_{horizon}"}
        ],
    }
    row = bucket(compute(config, rows), 1)
    assert (row["PP"], row["PriceImpact_1s"]) == (1.0, pytest.approx(2 * 0.01))
